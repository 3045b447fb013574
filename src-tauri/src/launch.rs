//! What the app was started with: a room to open (a code or a `lanmeet://` invite
//! from the command line, a desktop entry or a second launch), the name to join it
//! under (`--name NAME`: the window then joins at once, no lobby click), and the few
//! environment settings tests and power users need.
//!
//! ```text
//! lanmeet-desktop                              the lobby
//! lanmeet-desktop K7M-Q2P                      the lobby, that room filled in
//! lanmeet-desktop --name Ana K7M-Q2P           straight into that call, as Ana
//! lanmeet-desktop --name Ana lanmeet://10.0.0.5:7878/K7MQ2P
//! ```

use std::net::IpAddr;

use lanmeet_core::JoinTarget;
use lanmeet_core::config::DEFAULT_LAN_PORT;

/// Settings read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// A room code or invite to open in the UI (`?room=`), as the user gave it.
    pub room: Option<String>,
    /// `--name NAME`: the name to join `room` under. With a room, the window joins
    /// it at once (no lobby click); without one, the lobby's name field is filled.
    pub name: Option<String>,
    /// `LANMEET_BRIDGE=1|0`: run the WebRTC bridge for the window's page, or not.
    /// Unset: on where the webview has no WebRTC of its own (see [`bridge_default`]).
    pub bridge: bool,
    /// `LANMEET_LOCAL_PORT`: the loopback listener's port (default: any free one).
    pub local_port: u16,
    /// `LANMEET_LAN_PORT`: the LAN listener's port; unset means 7878, or any
    /// free port when 7878 is taken (a second lanmeet on this machine).
    pub lan_port: Option<u16>,
    /// `LANMEET_LAN_BIND`: the address the LAN listener binds (default: all).
    pub lan_bind: Option<IpAddr>,
    /// `LANMEET_NO_DISCOVERY=1`: no mDNS (invites still work), as in the CLI.
    pub no_discovery: bool,
    /// `LANMEET_NODE_NAME`: the name friends see in "Nearby rooms".
    pub node_name: Option<String>,
    /// `LANMEET_NO_RELAY=1`: run no TURN relay beside the node, as `lanmeet host
    /// --no-relay` (on by default: people who reach this host but not each other
    /// still get a call).
    pub no_relay: bool,
    /// `LANMEET_MOCK_MEDIA=1`: WebKitGTK's fake camera and microphone, for tests
    /// on machines without devices.
    pub mock_media: bool,
    /// `LANMEET_WEBVIEW_GPU=1`: let WebKitGTK composite with the GPU (off by
    /// default: see `window::load`).
    pub webview_gpu: bool,
}

/// The most characters a name may have (the node's default limit, `max_name`).
pub const MAX_NAME_CHARS: usize = 64;

/// How to start the app, for error messages.
pub const USAGE: &str = "usage: lanmeet-desktop [--name NAME] [CODE | lanmeet://HOST:PORT/CODE]";

/// Why the arguments or the environment could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// An environment setting with a value of the wrong kind.
    #[error("{name} must be {what}, not {value:?}")]
    Env {
        name: &'static str,
        what: &'static str,
        value: String,
    },
    /// `--name` as the last argument.
    #[error("--name needs a name ({USAGE})")]
    NameMissing,
    /// `--name` with an empty or too long name.
    #[error("--name {0:?}: a name has 1 to {MAX_NAME_CHARS} characters")]
    BadName(String),
    /// `--name` given twice, with different names.
    #[error("--name given twice ({0:?} and {1:?})")]
    TwoNames(String, String),
}

impl Launch {
    /// Reads the process's arguments and environment.
    pub fn from_process() -> Result<Launch, LaunchError> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Launch::from_parts(&args, |name| std::env::var(name).ok())
    }

    /// The same, from given arguments and an environment lookup (for tests).
    pub fn from_parts(
        args: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Launch, LaunchError> {
        let Arguments { room, name } = parse_arguments(args)?;
        Ok(Launch {
            room,
            name,
            bridge: parse_env::<Switch>(&env, "LANMEET_BRIDGE", "1 or 0")?
                .map_or_else(bridge_default, |s| s.0),
            local_port: parse_env(&env, "LANMEET_LOCAL_PORT", "a port number")?.unwrap_or(0),
            lan_port: parse_env(&env, "LANMEET_LAN_PORT", "a port number")?,
            lan_bind: parse_env(&env, "LANMEET_LAN_BIND", "an IP address")?,
            no_discovery: flag(&env, "LANMEET_NO_DISCOVERY"),
            node_name: env("LANMEET_NODE_NAME").filter(|n| !n.trim().is_empty()),
            no_relay: flag(&env, "LANMEET_NO_RELAY"),
            mock_media: flag(&env, "LANMEET_MOCK_MEDIA"),
            webview_gpu: flag(&env, "LANMEET_WEBVIEW_GPU"),
        })
    }

    /// The LAN port to try first.
    pub fn first_lan_port(&self) -> u16 {
        self.lan_port.unwrap_or(DEFAULT_LAN_PORT)
    }
}

/// Whether the app runs the WebRTC bridge when `LANMEET_BRIDGE` does not say: on
/// Linux, whose WebKitGTK is built without WebRTC (Debian's, Ubuntu's, the GNOME
/// runtime's; `../shared/WEBKITGTK.md`), and only if this build has the bridge.
/// Elsewhere the webview (WKWebView, WebView2) has WebRTC and calls natively. The
/// page uses the bridge only when it finds no `RTCPeerConnection` of its own, so a
/// future WebKitGTK with WebRTC would simply leave the bridge idle.
pub fn bridge_default() -> bool {
    cfg!(all(target_os = "linux", feature = "bridge"))
}

/// What the command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arguments {
    /// The first argument that is a room code or an invite.
    pub room: Option<String>,
    /// `--name NAME` or `--name=NAME`, trimmed.
    pub name: Option<String>,
}

/// Reads the command line: `--name NAME` (or `--name=NAME`) and the first
/// argument that is a room code or an invite. Anything else (flags a desktop
/// environment or a WebDriver adds, stray words) is ignored: the app still
/// starts, on the lobby. A bad `--name` is an error, not ignored: a script that
/// asked to join under a name must not end up in the lobby or under another name.
pub fn parse_arguments(args: &[String]) -> Result<Arguments, LaunchError> {
    let mut out = Arguments::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let given = if arg == "--name" {
            Some(rest.next().ok_or(LaunchError::NameMissing)?.as_str())
        } else {
            arg.strip_prefix("--name=")
        };
        if let Some(given) = given {
            let name = clean_name(given)?;
            match &out.name {
                Some(first) if *first != name => {
                    return Err(LaunchError::TwoNames(first.clone(), name));
                }
                _ => out.name = Some(name),
            }
            continue;
        }
        let arg = arg.trim();
        // `-K7MQ2P` reads as a code (dashes are forgiven): a flag is never a room.
        if out.room.is_none() && !arg.starts_with('-') && arg.parse::<JoinTarget>().is_ok() {
            out.room = Some(arg.to_owned());
        }
    }
    Ok(out)
}

/// The first argument that is a room code or an invite, whatever else the
/// command line holds (a second launch's arguments are only ever handed over,
/// never refused: a bad `--name` there still hands over the room).
pub fn room_argument(args: &[String]) -> Option<String> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--name" {
            rest.next();
            continue;
        }
        let arg = arg.trim();
        if !arg.starts_with('-') && arg.parse::<JoinTarget>().is_ok() {
            return Some(arg.to_owned());
        }
    }
    None
}

/// A name as the person will appear: trimmed, 1 to [`MAX_NAME_CHARS`]
/// characters, no control characters (the node refuses those).
fn clean_name(raw: &str) -> Result<String, LaunchError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if (1..=MAX_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(LaunchError::BadName(raw.to_owned()))
    }
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
struct Switch(bool);

impl std::str::FromStr for Switch {
    type Err = ();

    fn from_str(s: &str) -> Result<Switch, ()> {
        match s.trim() {
            "1" | "true" | "yes" | "on" => Ok(Switch(true)),
            "0" | "false" | "no" | "off" => Ok(Switch(false)),
            _ => Err(()),
        }
    }
}

fn flag(env: &impl Fn(&str) -> Option<String>, name: &str) -> bool {
    env(name).is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

fn parse_env<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    what: &'static str,
) -> Result<Option<T>, LaunchError> {
    match env(name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| LaunchError::Env {
            name,
            what,
            value: v,
        }),
    }
}

/// The query that opens the window on `room` and, with a name, joins it at once:
/// `?room=ROOM&name=NAME&join=1`. The page honours `join=1` only inside the
/// desktop app (ui/launch-join.js), and takes `name` and `join` off its URL as it
/// joins, so leaving the call lands in the lobby rather than joining again. A name
/// without a room only fills in the lobby's name field.
pub fn start_query(room: Option<&str>, name: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(room) = room {
        parts.push(format!("room={}", percent_encode(room)));
    }
    if let Some(name) = name {
        parts.push(format!("name={}", percent_encode(name)));
        if room.is_some() {
            parts.push("join=1".to_owned());
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_an_invite_or_a_code_among_other_arguments() {
        assert_eq!(
            room_argument(&args(&["--automation", "lanmeet://10.0.0.5:7878/K7MQ2P"])).as_deref(),
            Some("lanmeet://10.0.0.5:7878/K7MQ2P")
        );
        assert_eq!(
            room_argument(&args(&["k7m-q2p"])).as_deref(),
            Some("k7m-q2p")
        );
        assert_eq!(room_argument(&args(&["hello", "--x"])), None);
        assert_eq!(room_argument(&args(&["lanmeet://nohost"])), None);
        assert_eq!(
            room_argument(&args(&["lanmeet://1.2.3.4/K7MQ2P"])),
            None,
            "no port: the UI would refuse it too"
        );
        assert_eq!(
            room_argument(&args(&["lanmeet://1.2.3.4:7878/not-a-code"])),
            None
        );
        assert_eq!(room_argument(&[]), None);
    }

    #[test]
    fn reads_ports_and_flags_from_the_environment() {
        let env = |name: &str| match name {
            "LANMEET_LOCAL_PORT" => Some("17878".to_owned()),
            "LANMEET_NO_DISCOVERY" => Some("1".to_owned()),
            "LANMEET_MOCK_MEDIA" => Some("0".to_owned()),
            _ => None,
        };
        let launch = Launch::from_parts(&[], env).unwrap();
        assert_eq!(launch.local_port, 17878);
        assert_eq!(launch.first_lan_port(), DEFAULT_LAN_PORT);
        assert!(launch.no_discovery);
        assert!(!launch.mock_media);
    }

    #[test]
    fn refuses_a_port_that_is_not_a_number() {
        let err = Launch::from_parts(&[], |n| {
            (n == "LANMEET_LAN_PORT").then(|| "seventy".to_owned())
        })
        .unwrap_err();
        assert!(err.to_string().contains("LANMEET_LAN_PORT"), "{err}");
    }

    #[test]
    fn encodes_the_room_for_a_query_string() {
        assert_eq!(
            start_query(Some("lanmeet://1.2.3.4:7878/K7MQ2P"), None),
            "?room=lanmeet%3A%2F%2F1.2.3.4%3A7878%2FK7MQ2P"
        );
    }

    #[test]
    fn name_and_room_join_at_once() {
        let parsed = parse_arguments(&args(&["--name", "Ana", "K7M-Q2P"])).unwrap();
        assert_eq!(parsed.name.as_deref(), Some("Ana"));
        assert_eq!(parsed.room.as_deref(), Some("K7M-Q2P"));
        let parsed = parse_arguments(&args(&[
            "lanmeet://10.0.0.5:7878/K7MQ2P",
            "--name=  Ana Lee ",
        ]))
        .unwrap();
        assert_eq!(parsed.name.as_deref(), Some("Ana Lee"), "trimmed");
        assert_eq!(
            parsed.room.as_deref(),
            Some("lanmeet://10.0.0.5:7878/K7MQ2P")
        );
        assert_eq!(
            parse_arguments(&[]).unwrap(),
            Arguments::default(),
            "nothing given: the lobby"
        );
    }

    #[test]
    fn a_name_that_reads_like_a_code_is_still_the_name() {
        let parsed = parse_arguments(&args(&["--name", "K7MQ2P", "ABCDEF"])).unwrap();
        assert_eq!(parsed.name.as_deref(), Some("K7MQ2P"));
        assert_eq!(parsed.room.as_deref(), Some("ABCDEF"));
        let parsed = parse_arguments(&args(&["--name", "K7MQ2P"])).unwrap();
        assert_eq!(parsed.room, None, "the name is not taken for a room");
        // A name starting with a dash is still the name (`--name -x-`).
        let parsed = parse_arguments(&args(&["--name", "-x-", "K7MQ2P"])).unwrap();
        assert_eq!(parsed.name.as_deref(), Some("-x-"));
    }

    #[test]
    fn the_first_room_wins_and_other_flags_are_ignored() {
        let parsed = parse_arguments(&args(&[
            "--automation",
            "K7MQ2P",
            "--name",
            "Bo",
            "ABCDEF",
            "stray",
        ]))
        .unwrap();
        assert_eq!(parsed.room.as_deref(), Some("K7MQ2P"));
        assert_eq!(parsed.name.as_deref(), Some("Bo"));
    }

    #[test]
    fn a_bad_name_is_refused_not_ignored() {
        assert!(matches!(
            parse_arguments(&args(&["K7MQ2P", "--name"])),
            Err(LaunchError::NameMissing)
        ));
        assert!(matches!(
            parse_arguments(&args(&["--name", "   ", "K7MQ2P"])),
            Err(LaunchError::BadName(_))
        ));
        assert!(matches!(
            parse_arguments(&args(&["--name=", "K7MQ2P"])),
            Err(LaunchError::BadName(_))
        ));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(matches!(
            parse_arguments(&args(&["--name", &long])),
            Err(LaunchError::BadName(_))
        ));
        let longest = "가".repeat(MAX_NAME_CHARS);
        assert_eq!(
            parse_arguments(&args(&["--name", &longest]))
                .unwrap()
                .name
                .as_deref(),
            Some(longest.as_str()),
            "characters, not bytes"
        );
        assert!(matches!(
            parse_arguments(&args(&["--name", "a\u{7}b"])),
            Err(LaunchError::BadName(_))
        ));
        assert!(matches!(
            parse_arguments(&args(&["--name", "Ana", "--name", "Bo"])),
            Err(LaunchError::TwoNames(..))
        ));
        assert!(parse_arguments(&args(&["--name", "Ana", "--name=Ana"])).is_ok());
        // A second launch's arguments are only handed over: the room still is.
        assert_eq!(
            room_argument(&args(&["K7MQ2P", "--name"])).as_deref(),
            Some("K7MQ2P")
        );
        assert_eq!(
            room_argument(&args(&["--name", "ABCDEF", "--name=", "K7MQ2P"])).as_deref(),
            Some("K7MQ2P")
        );
        let err = Launch::from_parts(&args(&["--name"]), |_| None).unwrap_err();
        assert!(err.to_string().contains("usage"), "{err}");
    }

    #[test]
    fn the_start_query_joins_only_with_a_name_and_a_room() {
        assert_eq!(start_query(None, None), "");
        assert_eq!(start_query(Some("K7MQ2P"), None), "?room=K7MQ2P");
        assert_eq!(start_query(None, Some("Ana")), "?name=Ana");
        assert_eq!(
            start_query(Some("lanmeet://1.2.3.4:7878/K7MQ2P"), Some("Ana Lee & co")),
            "?room=lanmeet%3A%2F%2F1.2.3.4%3A7878%2FK7MQ2P&name=Ana%20Lee%20%26%20co&join=1"
        );
        assert_eq!(start_query(None, Some("한")), "?name=%ED%95%9C");
    }

    #[test]
    fn the_bridge_follows_the_platform_unless_told() {
        let env = |v: &'static str| move |n: &str| (n == "LANMEET_BRIDGE").then(|| v.to_owned());
        assert!(Launch::from_parts(&[], env("1")).unwrap().bridge);
        assert!(!Launch::from_parts(&[], env("off")).unwrap().bridge);
        assert_eq!(
            Launch::from_parts(&[], |_| None).unwrap().bridge,
            bridge_default()
        );
        assert_eq!(
            Launch::from_parts(&[], env("")).unwrap().bridge,
            bridge_default()
        );
        assert!(Launch::from_parts(&[], env("maybe")).is_err());
        #[cfg(all(target_os = "linux", feature = "bridge"))]
        assert!(
            bridge_default(),
            "WebKitGTK has no WebRTC: the bridge is on"
        );
    }
}
