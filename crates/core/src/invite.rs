//! Invites (`lanmeet://HOST:PORT/CODE`) and what people type to name a room.
//!
//! An invite carries the host node's LAN address and port besides the room code,
//! so it works where discovery cannot (no multicast, another subnet). It is made
//! by the node ([`crate::RoomCreated::invite`]), pasted into the UI, passed to
//! `lanmeet join`, `lanmeet probe` and the desktop app, and read by all of them
//! with the rules below, which `ui/codes.js` (`parseInvite`, `parseJoinInput`)
//! repeats in JavaScript; change both together.
//!
//! The rules, forgiving where people slip and strict where a guess could send
//! someone to the wrong place:
//! - surrounding whitespace is ignored, the scheme's case too (`LANMEET://`);
//! - HOST is a name or IPv4 address (`A-Z a-z 0-9 . -`) or an IPv6 address in
//!   brackets (`[fd00::1]`);
//! - PORT is required (1–65535): an invite without one is refused rather than
//!   guessed, since a guest's node does not listen on the default port;
//! - then one or more `/`, the code (percent-escapes decoded, then read like any
//!   typed code: case, dashes, spaces and look-alikes forgiven), and at most one
//!   trailing `/`; no query or fragment.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::codes::{CodeError, RoomCode};

/// The URL scheme of invites.
pub(crate) const SCHEME: &str = "lanmeet://";

/// A room and the node that hosts it: `lanmeet://HOST:PORT/CODE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Invite {
    /// As it appears in a URL: a name, an IPv4 address or `[IPv6]`.
    host: String,
    port: u16,
    code: RoomCode,
}

/// Why a string is not an invite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// Does not start with `lanmeet://`.
    #[error("an invite starts with lanmeet://")]
    Scheme,
    /// Missing or malformed host, port or code part.
    #[error("an invite looks like lanmeet://HOST:PORT/CODE")]
    Shape,
    /// The port is 0 or above 65535.
    #[error("the invite's port {0} is not a valid port")]
    Port(String),
    /// The code part is not a room code.
    #[error("the invite's room code is wrong: {0}")]
    Code(CodeError),
}

impl Invite {
    /// The invite for a room hosted on a node whose LAN listener is `ip:port`.
    pub fn new(ip: IpAddr, port: u16, code: RoomCode) -> Invite {
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        Invite { host, port, code }
    }

    /// The host as written in URLs (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn code(&self) -> RoomCode {
        self.code
    }

    /// The hosting node's peer socket, `ws://HOST:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}:{}/ws", self.host, self.port)
    }
}

impl FromStr for Invite {
    type Err = InviteError;

    fn from_str(input: &str) -> Result<Invite, InviteError> {
        let text = input.trim();
        let rest = strip_prefix_ignore_case(text, SCHEME).ok_or(InviteError::Scheme)?;
        let (host, rest) = split_host(rest).ok_or(InviteError::Shape)?;
        let rest = rest.strip_prefix(':').ok_or(InviteError::Shape)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=5).contains(&digits) {
            return Err(InviteError::Shape);
        }
        let (port, rest) = rest.split_at(digits);
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(InviteError::Port(port.to_owned())),
        };
        let rest = rest.strip_prefix('/').ok_or(InviteError::Shape)?;
        let rest = rest.trim_start_matches('/');
        let segment = rest.strip_suffix('/').unwrap_or(rest);
        if segment.is_empty() || segment.contains(['/', '?', '#']) {
            return Err(InviteError::Shape);
        }
        let decoded = percent_decode(segment).ok_or(InviteError::Shape)?;
        let code = RoomCode::parse(&decoded).map_err(InviteError::Code)?;
        Ok(Invite {
            host: host.to_owned(),
            port,
            code,
        })
    }
}

impl fmt::Display for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}:{}/{}", self.host, self.port, self.code)
    }
}

impl serde::Serialize for Invite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What people type to name a room: a code (`K7M-Q2P`) or an invite. Anything
/// starting with `lanmeet:` is read as an invite, so a broken invite is reported
/// as one rather than as a strange code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinTarget {
    Code(RoomCode),
    Invite(Invite),
}

/// Why typed text names no room.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinTargetError {
    #[error("that is not a room code: {0}")]
    Code(CodeError),
    #[error(transparent)]
    Invite(#[from] InviteError),
}

impl FromStr for JoinTarget {
    type Err = JoinTargetError;

    fn from_str(input: &str) -> Result<JoinTarget, JoinTargetError> {
        let text = input.trim();
        if strip_prefix_ignore_case(text, "lanmeet:").is_some() {
            return Ok(JoinTarget::Invite(text.parse()?));
        }
        RoomCode::parse(text)
            .map(JoinTarget::Code)
            .map_err(JoinTargetError::Code)
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Splits off HOST: `[IPv6]` or a run of name characters.
fn split_host(rest: &str) -> Option<(&str, &str)> {
    if rest.starts_with('[') {
        let end = rest.find(']')?;
        let inner = &rest[1..end];
        let ok = !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'%'));
        ok.then(|| rest.split_at(end + 1))
    } else {
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
            .count();
        (len > 0).then(|| rest.split_at(len))
    }
}

/// Decodes `%XX` escapes (a pasted invite may have passed through a URL);
/// `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_owned());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> RoomCode {
        RoomCode::parse("K7MQ2P").unwrap()
    }

    #[test]
    fn formats_and_parses_back() {
        let v4 = Invite::new("192.168.1.20".parse().unwrap(), 7878, code());
        assert_eq!(v4.to_string(), "lanmeet://192.168.1.20:7878/K7MQ2P");
        assert_eq!(v4.ws_url(), "ws://192.168.1.20:7878/ws");
        let v6 = Invite::new("fd00::1".parse().unwrap(), 40000, code());
        assert_eq!(v6.to_string(), "lanmeet://[fd00::1]:40000/K7MQ2P");
        assert_eq!(v6.ws_url(), "ws://[fd00::1]:40000/ws");
        for invite in [v4, v6] {
            assert_eq!(invite.to_string().parse::<Invite>().unwrap(), invite);
        }
        assert_eq!(
            serde_json::to_value(Invite::new([10, 0, 0, 5].into(), 1, code())).unwrap(),
            "lanmeet://10.0.0.5:1/K7MQ2P"
        );
    }

    #[test]
    fn forgives_what_people_do_to_pasted_invites() {
        for typed in [
            "lanmeet://192.168.1.20:7878/K7MQ2P",
            "  lanmeet://192.168.1.20:7878/k7m-q2p/ ",
            "LANMEET://192.168.1.20:7878/K7M-Q2P",
            "lanmeet://192.168.1.20:7878//K7MQ2P",
            "lanmeet://192.168.1.20:7878/K7M%20Q2P",
            "lanmeet://192.168.1.20:7878/k7m%2dq2p",
        ] {
            let invite: Invite = typed.parse().unwrap_or_else(|e| panic!("{typed:?}: {e}"));
            assert_eq!(invite.host(), "192.168.1.20", "{typed:?}");
            assert_eq!(invite.port(), 7878);
            assert_eq!(invite.code(), code());
        }
        let named: Invite = "lanmeet://desk-7.local:7878/K7MQ2P".parse().unwrap();
        assert_eq!(named.ws_url(), "ws://desk-7.local:7878/ws");
        let v6: Invite = " lanmeet://[fd00::1]:7878/k7m-q2p/ ".parse().unwrap();
        assert_eq!(v6.host(), "[fd00::1]");
        assert_eq!(v6.to_string(), "lanmeet://[fd00::1]:7878/K7MQ2P");
    }

    #[test]
    fn refuses_incomplete_or_wrong_invites() {
        use InviteError::*;
        for (typed, why) in [
            ("lanmeet://1.2.3.4/K7MQ2P", Shape),
            ("lanmeet://nohost", Shape),
            ("lanmeet:///K7MQ2P", Shape),
            ("lanmeet://:7878/K7MQ2P", Shape),
            ("lanmeet://1.2.3.4:/K7MQ2P", Shape),
            ("lanmeet://1.2.3.4:7878", Shape),
            ("lanmeet://1.2.3.4:7878/", Shape),
            ("lanmeet://1.2.3.4:7878K7MQ2P", Shape),
            ("lanmeet://1.2.3.4:123456/K7MQ2P", Shape),
            ("lanmeet://1.2.3.4:7878/K7MQ2P//", Shape),
            ("lanmeet://1.2.3.4:7878/x/K7MQ2P", Shape),
            ("lanmeet://1.2.3.4:7878/K7MQ2P?x=1", Shape),
            ("lanmeet://1.2.3.4:7878/K7MQ2P#x", Shape),
            ("lanmeet://1.2.3.4:7878/K7M%2", Shape),
            ("lanmeet://1.2.3.4:7878/%FF%FE", Shape),
            ("lanmeet://[]:7878/K7MQ2P", Shape),
            ("lanmeet://[fd00::1:7878/K7MQ2P", Shape),
            ("lanmeet://fd00::1:7878/K7MQ2P", Shape),
            ("lanmeet://a_b:7878/K7MQ2P", Shape),
            ("lanmeet://user@host:7878/K7MQ2P", Shape),
            ("lanmeet:1.2.3.4:7878/K7MQ2P", Scheme),
            ("http://1.2.3.4:7878/K7MQ2P", Scheme),
            ("K7MQ2P", Scheme),
            ("lanmeet://1.2.3.4:0/K7MQ2P", Port("0".into())),
            ("lanmeet://1.2.3.4:99999/K7MQ2P", Port("99999".into())),
            ("lanmeet://1.2.3.4:7878/K7MQ", Code(CodeError::Length(4))),
            (
                "lanmeet://1.2.3.4:7878/K7MQ2U",
                Code(CodeError::Character('U')),
            ),
        ] {
            assert_eq!(typed.parse::<Invite>(), Err(why), "{typed:?}");
        }
    }

    #[test]
    fn join_targets_are_codes_or_invites() {
        assert_eq!(
            "k7m-q2p".parse::<JoinTarget>(),
            Ok(JoinTarget::Code(code()))
        );
        let invite = Invite::new([192, 168, 1, 20].into(), 7878, code());
        assert_eq!(
            "lanmeet://192.168.1.20:7878/K7MQ2P".parse::<JoinTarget>(),
            Ok(JoinTarget::Invite(invite))
        );
        assert_eq!(
            "lanmeet://1.2.3.4/K7MQ2P".parse::<JoinTarget>(),
            Err(JoinTargetError::Invite(InviteError::Shape)),
            "an invite without a port is refused, as in the UI"
        );
        assert_eq!(
            "Lanmeet:K7MQ2P".parse::<JoinTarget>(),
            Err(JoinTargetError::Invite(InviteError::Scheme)),
            "a broken invite is not read as a code"
        );
        assert_eq!(
            "hello".parse::<JoinTarget>(),
            Err(JoinTargetError::Code(CodeError::Length(5))),
            "HE110"
        );
    }
}
