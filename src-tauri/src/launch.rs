//! What the app was started with: a room to open (a code or a `lanmeet://` invite
//! from the command line, a desktop entry or a second launch), and the few
//! environment settings tests and power users need.

use std::net::IpAddr;

use lanmeet_core::JoinTarget;
use lanmeet_core::config::DEFAULT_LAN_PORT;

/// Settings read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// A room code or invite to open in the UI (`?room=`), as the user gave it.
    pub room: Option<String>,
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

/// Why the environment could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("{name} must be {what}, not {value:?}")]
pub struct LaunchError {
    name: &'static str,
    what: &'static str,
    value: String,
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
        Ok(Launch {
            room: room_argument(args),
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

/// The first argument that is a room code or an invite. Anything else (flags a
/// desktop environment or a WebDriver adds, stray words) is ignored: the app
/// still starts, on the lobby.
pub fn room_argument(args: &[String]) -> Option<String> {
    args.iter()
        .map(|a| a.trim())
        // `-K7MQ2P` reads as a code (dashes are forgiven): a flag is never a room.
        .filter(|arg| !arg.starts_with('-'))
        .find(|arg| arg.parse::<JoinTarget>().is_ok())
        .map(str::to_owned)
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
        Some(v) => v.trim().parse().map(Some).map_err(|_| LaunchError {
            name,
            what,
            value: v,
        }),
    }
}

/// `?room=` for the UI's URL, percent-encoded.
pub fn room_query(room: &str) -> String {
    let encoded: String = room
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("?room={encoded}")
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
            room_query("lanmeet://1.2.3.4:7878/K7MQ2P"),
            "?room=lanmeet%3A%2F%2F1.2.3.4%3A7878%2FK7MQ2P"
        );
    }
}
