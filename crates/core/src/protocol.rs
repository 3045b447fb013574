//! The wire types of the peer socket (`docs/PROTOCOL.md`, "Peer socket").
//!
//! Requests go up, events come down. Incoming frames are parsed once into a
//! borrowed [`Request`]; a signal's `data` stays a raw JSON slice that is copied
//! into the outgoing frame without being parsed into a tree, because the node
//! never reads it and relaying is the hot path.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

pub(crate) use axum::extract::ws::Utf8Bytes as Frame;

use crate::codes::RoomCode;
use crate::ice::IceServer;

/// What a client asked for, borrowed from the frame's text.
#[derive(Debug)]
pub(crate) enum Request<'a> {
    /// Enter a room (the first frame of every socket).
    Join(JoinRequest<'a>),
    /// Relay `data` to the participant `to` in the same room.
    Signal {
        to: Cow<'a, str>,
        data: &'a RawValue,
    },
    /// Leave now, without a grace period.
    Leave,
}

/// The fields of a `join` request.
#[derive(Debug)]
pub(crate) struct JoinRequest<'a> {
    /// The room code as the client sent it (parsed by the caller).
    pub room: Cow<'a, str>,
    /// Display name, already trimmed and checked for length.
    pub name: String,
    pub passcode: Option<Cow<'a, str>>,
    pub resume: Option<Cow<'a, str>>,
}

/// Why a frame is not a valid request: always answered with `bad-message`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BadMessage {
    #[error("frames must be JSON text: {0}")]
    NotJson(String),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("`{0}` needs the field `{1}`")]
    Missing(&'static str, &'static str),
    #[error("name must be 1 to {0} characters")]
    BadName(usize),
    #[error("binary frames are not part of the protocol; send JSON text")]
    Binary,
}

/// Every field any request may carry; unknown fields are ignored so that clients
/// can be newer than the node.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    room: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    passcode: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    resume: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    to: Option<Cow<'a, str>>,
    /// `Some` whenever the key is present, even as `null` (which is valid data).
    #[serde(default, borrow, deserialize_with = "present")]
    data: Option<&'a RawValue>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Parses one text frame. `max_name` is the name limit in characters.
pub(crate) fn parse_request(text: &str, max_name: usize) -> Result<Request<'_>, BadMessage> {
    // A request is a JSON object. serde would also fill `Wire` from an array,
    // field by field (`["leave"]`, `["join","K7MQ2P","Al"]`): not the protocol.
    if !text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        return Err(BadMessage::NotJson("a request is a JSON object".to_owned()));
    }
    let wire: Wire<'_> =
        serde_json::from_str(text).map_err(|e| BadMessage::NotJson(short(&e.to_string())))?;
    match &*wire.kind {
        "join" => {
            let room = wire.room.ok_or(BadMessage::Missing("join", "room"))?;
            let name = wire.name.ok_or(BadMessage::Missing("join", "name"))?;
            let name = clean_name(&name, max_name).ok_or(BadMessage::BadName(max_name))?;
            Ok(Request::Join(JoinRequest {
                room,
                name,
                passcode: wire.passcode.filter(|p| !p.is_empty()),
                resume: wire.resume.filter(|r| !r.is_empty()),
            }))
        }
        "signal" => Ok(Request::Signal {
            to: wire.to.ok_or(BadMessage::Missing("signal", "to"))?,
            data: wire.data.ok_or(BadMessage::Missing("signal", "data"))?,
        }),
        "leave" => Ok(Request::Leave),
        other => Err(BadMessage::UnknownType(short(other))),
    }
}

/// Cleans a display name (a person's or a room's) and checks its length in
/// characters, `None` meaning refused:
/// - control characters and line or paragraph separators become spaces, so a
///   name cannot forge lines in someone's log or UI;
/// - bidirectional formatting characters (embeddings, overrides, isolates,
///   marks) are removed, so a name cannot reorder the text around it (shown as
///   "Alice" while it is "ecilA");
/// - whitespace and invisible characters are trimmed from both ends, and a name
///   with nothing visible left is refused, so nobody is called "".
///
/// Invisible characters inside a name stay: zero-width joiners build emoji and
/// some scripts' words.
pub(crate) fn clean_name(raw: &str, max_chars: usize) -> Option<String> {
    let spaced: String = raw
        .chars()
        .filter(|&c| !is_bidi_control(c))
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let name = spaced
        .trim_matches(|c: char| c.is_whitespace() || is_invisible(c))
        .to_owned();
    let count = name.chars().count();
    (1..=max_chars).contains(&count).then_some(name)
}

/// Characters that change the direction text is laid out in (Unicode bidi
/// embeddings, overrides, isolates and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing: Unicode's default-ignorable code points, plus
/// the fillers and blanks that render as empty space.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Keeps error text that echoes client input short, so a hostile client cannot
/// make the node write (or send back) large strings.
fn short(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// The error codes of docs/PROTOCOL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ErrorCode {
    BadMessage,
    NotJoined,
    AlreadyJoined,
    RoomNotFound,
    RoomFull,
    BadPasscode,
    UnknownPeer,
    TooLarge,
    RateLimited,
    JoinTimeout,
    SlowConsumer,
}

impl ErrorCode {
    /// The code as it appears on the wire and as a close reason.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "bad-message",
            ErrorCode::NotJoined => "not-joined",
            ErrorCode::AlreadyJoined => "already-joined",
            ErrorCode::RoomNotFound => "room-not-found",
            ErrorCode::RoomFull => "room-full",
            ErrorCode::BadPasscode => "bad-passcode",
            ErrorCode::UnknownPeer => "unknown-peer",
            ErrorCode::TooLarge => "too-large",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::JoinTimeout => "join-timeout",
            ErrorCode::SlowConsumer => "slow-consumer",
        }
    }

    /// The sentence sent with this code in `error` events, for people and logs.
    /// Every path that sends a code takes its sentence from here (or from
    /// [`BadMessage`] and the constants below it, which say more), so the same error
    /// always reads the same.
    pub(crate) fn message(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "that message is not valid",
            ErrorCode::NotJoined => "join a room first",
            ErrorCode::AlreadyJoined => "this socket already joined a room",
            ErrorCode::RoomNotFound => "no room with that code is hosted here",
            ErrorCode::RoomFull => "the room is full",
            ErrorCode::BadPasscode => "wrong passcode",
            ErrorCode::UnknownPeer => "nobody with that id is in your room",
            ErrorCode::TooLarge => "message too large",
            ErrorCode::RateLimited => "too many messages; some were dropped",
            ErrorCode::JoinTimeout => "no join received in time",
            ErrorCode::SlowConsumer => "you were not reading fast enough",
        }
    }

    /// The `error` event with this code's own sentence.
    pub(crate) fn frame(self) -> Frame {
        error_frame(self, self.message())
    }

    /// `None` when the socket stays open after this error, else the close status.
    pub(crate) fn close_status(self) -> Option<u16> {
        match self {
            ErrorCode::BadMessage | ErrorCode::UnknownPeer | ErrorCode::RateLimited => None,
            ErrorCode::TooLarge => Some(close::TOO_BIG),
            _ => Some(close::POLICY),
        }
    }
}

// Sentences for one cause of a code, where the code's own sentence would not
// say what happened.

/// `rate-limited` for a `join` while the source address's failed-join budget is
/// spent: not the per-socket message budget, so it says what to do instead.
pub(crate) const FAILED_JOINS: &str =
    "too many failed joins from your address; wait a few seconds and try again";
/// `rate-limited` for pings beyond the socket's budget.
pub(crate) const TOO_MANY_PINGS: &str = "too many pings; reading paused";
/// `bad-message` before closing 1007.
pub(crate) const NOT_UTF8: &str = "text frames must be valid UTF-8";
/// `bad-message` before closing 1002.
pub(crate) const BROKEN_FRAME: &str = "that frame breaks the WebSocket protocol";

/// WebSocket close statuses the node uses.
pub(crate) mod close {
    /// Normal closure: `leave`, `replaced`, `room-closed`.
    pub(crate) const NORMAL: u16 = 1000;
    /// The node is shutting down (sockets that never joined a room).
    pub(crate) const GOING_AWAY: u16 = 1001;
    /// A protocol rule was broken; the reason is the error code.
    pub(crate) const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub(crate) const TOO_BIG: u16 = 1009;
    /// A breach of the WebSocket protocol itself (reserved bits, a fragmented
    /// control frame, an unknown opcode).
    pub(crate) const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub(crate) const INVALID_DATA: u16 = 1007;
}

/// A participant as others see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct PeerInfo {
    pub id: String,
    pub name: String,
}

/// Room details sent in `welcome`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoomBrief<'a> {
    pub code: RoomCode,
    pub name: &'a str,
    pub capacity: usize,
}

/// Events the node sends, except `signal` (see [`signal_frame`]).
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum Event<'a> {
    Welcome {
        id: &'a str,
        token: &'a str,
        resumed: bool,
        room: RoomBrief<'a>,
        peers: Vec<&'a PeerInfo>,
        /// [ext] ICE servers for this member (the host's relay with fresh
        /// credentials, then servers the host's person set); absent when none.
        #[serde(rename = "iceServers", skip_serializing_if = "<[_]>::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    PeerJoined {
        peer: &'a PeerInfo,
    },
    PeerLeft {
        id: &'a str,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
    },
    RoomClosed,
}

impl Event<'_> {
    /// Serializes the event into a text frame.
    pub(crate) fn frame(&self) -> Frame {
        // Serializing these plain structs cannot fail; an empty object is a safe
        // fallback that clients ignore.
        serde_json::to_string(self)
            .unwrap_or_else(|_| "{}".to_owned())
            .into()
    }
}

/// An `error` event as a frame.
pub(crate) fn error_frame(code: ErrorCode, message: &str) -> Frame {
    Event::Error { code, message }.frame()
}

/// The relayed `signal` frame with the node-stamped `from`. Built by hand so that
/// `data` is copied as the raw JSON it arrived as.
pub(crate) fn signal_frame(from: &str, data: &RawValue) -> Frame {
    let data = data.get();
    let mut out = String::with_capacity(34 + from.len() + data.len());
    out.push_str(r#"{"type":"signal","from":"#);
    // Peer ids are generated by the node from URL-safe characters, but escape
    // anyway: correctness must not depend on that.
    match serde_json::to_string(from) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
    out.push_str(r#","data":"#);
    out.push_str(data);
    out.push('}');
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn parses_join_with_optional_fields() {
        let req = parse_request(
            r#"{"type":"join","room":"k7m-q2p","name":"  Alice ","passcode":"x","resume":"t","extra":1}"#,
            64,
        )
        .unwrap();
        let Request::Join(j) = req else {
            panic!("not a join")
        };
        assert_eq!(j.room, "k7m-q2p");
        assert_eq!(j.name, "Alice");
        assert_eq!(j.passcode.as_deref(), Some("x"));
        assert_eq!(j.resume.as_deref(), Some("t"));
    }

    #[test]
    fn join_needs_room_and_a_sane_name() {
        assert_eq!(
            parse_request(r#"{"type":"join","name":"A"}"#, 64).unwrap_err(),
            BadMessage::Missing("join", "room")
        );
        assert_eq!(
            parse_request(r#"{"type":"join","room":"X"}"#, 64).unwrap_err(),
            BadMessage::Missing("join", "name")
        );
        for bad in [
            r#""""#,
            r#""   ""#,
            r#""\u0001""#,
            &format!("\"{}\"", "é".repeat(65)),
        ] {
            let text = format!(r#"{{"type":"join","room":"X","name":{bad}}}"#);
            assert_eq!(
                parse_request(&text, 64).unwrap_err(),
                BadMessage::BadName(64)
            );
        }
        let text = format!(
            r#"{{"type":"join","room":"X","name":"{}"}}"#,
            "é".repeat(64)
        );
        assert!(parse_request(&text, 64).is_ok());
    }

    #[test]
    fn names_show_something_and_cannot_reorder_text() {
        for invisible in [
            "\u{200B}",
            "\u{200B}\u{200D}\u{200C}",
            " \u{FEFF}\u{2060} ",
            "\u{202E}\u{202C}",
            "\u{2066}\u{2069}",
            "\u{3164}\u{115F}",
            "\u{00AD}\u{2800}",
            "\u{E0041}",
        ] {
            assert_eq!(clean_name(invisible, 64), None, "{invisible:?}");
        }
        assert_eq!(
            clean_name("\u{202E}ecilA\u{202C}", 64).as_deref(),
            Some("ecilA")
        );
        assert_eq!(
            clean_name("\u{2067}Bob\u{2069} \u{200F}", 64).as_deref(),
            Some("Bob")
        );
        assert_eq!(
            clean_name("\u{200B}Eve\u{200B}", 64).as_deref(),
            Some("Eve")
        );
        // Joiners inside a name stay (emoji sequences, scripts that need them).
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(clean_name(family, 64).as_deref(), Some(family));
        assert_eq!(
            clean_name("a\u{2028}b\u{2029}c\nd", 64).as_deref(),
            Some("a b c d")
        );
        // Length counts what is left.
        let long = format!("{}\u{202E}", "x".repeat(64));
        assert_eq!(clean_name(&long, 64).map(|n| n.len()), Some(64));
    }

    #[test]
    fn signal_data_may_be_null_but_not_missing() {
        let Request::Signal { to, data } =
            parse_request(r#"{"type":"signal","to":"p1","data":null}"#, 64).unwrap()
        else {
            panic!()
        };
        assert_eq!(to, "p1");
        assert_eq!(data.get(), "null");
        assert_eq!(
            parse_request(r#"{"type":"signal","to":"p1"}"#, 64).unwrap_err(),
            BadMessage::Missing("signal", "data")
        );
        assert_eq!(
            parse_request(r#"{"type":"signal","data":1}"#, 64).unwrap_err(),
            BadMessage::Missing("signal", "to")
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            parse_request("not json", 64),
            Err(BadMessage::NotJson(_))
        ));
        assert!(matches!(
            parse_request("[1,2]", 64),
            Err(BadMessage::NotJson(_))
        ));
        // Found by the property tests (properties.rs): serde fills a struct from an
        // array too.
        for array in [
            r#"["leave"]"#,
            r#" ["join","K7MQ2P","Al"]"#,
            r#"["signal",null,null,null,null,"p1",1]"#,
        ] {
            assert!(
                matches!(parse_request(array, 64), Err(BadMessage::NotJson(_))),
                "{array}"
            );
        }
        assert!(parse_request(" \r\n\t{\"type\":\"leave\"}", 64).is_ok());
        assert!(matches!(
            parse_request(r#"{"room":"x"}"#, 64),
            Err(BadMessage::NotJson(_))
        ));
        assert!(matches!(
            parse_request(r#"{"type":42}"#, 64),
            Err(BadMessage::NotJson(_))
        ));
        assert!(matches!(
            parse_request(r#"{"type":"dance"}"#, 64),
            Err(BadMessage::UnknownType(t)) if t == "dance"
        ));
        let long = format!(r#"{{"type":"{}"}}"#, "x".repeat(5000));
        let Err(BadMessage::UnknownType(t)) = parse_request(&long, 64) else {
            panic!()
        };
        assert!(t.chars().count() <= 81);
    }

    #[test]
    fn signal_frame_keeps_data_and_stamps_from() {
        let Request::Signal { data, .. } = parse_request(
            r#"{"type":"signal","to":"b","from":"spoof","data":{"sdp":"v=0\r\n","n":[1,2,{"x":null}]}}"#,
            64,
        )
        .unwrap() else {
            panic!()
        };
        let frame = signal_frame("peerA", data);
        let v: Value = serde_json::from_str(frame.as_str()).unwrap();
        assert_eq!(
            v,
            json!({"type":"signal","from":"peerA","data":{"sdp":"v=0\r\n","n":[1,2,{"x":null}]}})
        );
    }

    #[test]
    fn events_serialize_as_documented() {
        let peer = PeerInfo {
            id: "b".into(),
            name: "Bob".into(),
        };
        let code = RoomCode::parse("K7MQ2P").unwrap();
        let welcome = Event::Welcome {
            id: "a",
            token: "t",
            resumed: false,
            room: RoomBrief {
                code,
                name: "Friday",
                capacity: 8,
            },
            peers: vec![&peer],
            ice_servers: Vec::new(),
        };
        let v: Value = serde_json::from_str(welcome.frame().as_str()).unwrap();
        assert_eq!(
            v,
            json!({"type":"welcome","id":"a","token":"t","resumed":false,
                   "room":{"code":"K7MQ2P","name":"Friday","capacity":8},
                   "peers":[{"id":"b","name":"Bob"}]})
        );
        let relayed = Event::Welcome {
            id: "a",
            token: "t",
            resumed: false,
            room: RoomBrief {
                code,
                name: "Friday",
                capacity: 8,
            },
            peers: vec![],
            ice_servers: vec![IceServer {
                urls: vec!["turn:10.0.0.1:7879?transport=udp".into()],
                username: Some("1:a".into()),
                credential: Some("pw".into()),
            }],
        };
        let v: Value = serde_json::from_str(relayed.frame().as_str()).unwrap();
        assert_eq!(
            v["iceServers"],
            json!([{"urls":["turn:10.0.0.1:7879?transport=udp"],"username":"1:a","credential":"pw"}])
        );
        let v: Value =
            serde_json::from_str(error_frame(ErrorCode::RoomFull, "full").as_str()).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","code":"room-full","message":"full"})
        );
        assert_eq!(
            Event::RoomClosed.frame().as_str(),
            r#"{"type":"room-closed"}"#
        );
        assert_eq!(
            Event::PeerLeft { id: "x" }.frame().as_str(),
            r#"{"type":"peer-left","id":"x"}"#
        );
    }

    #[test]
    fn every_error_code_has_its_sentence() {
        let v: Value = serde_json::from_str(ErrorCode::RoomFull.frame().as_str()).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","code":"room-full","message":"the room is full"})
        );
        assert_eq!(
            ErrorCode::UnknownPeer.message(),
            "nobody with that id is in your room"
        );
        assert_eq!(
            BadMessage::Binary.to_string(),
            "binary frames are not part of the protocol; send JSON text"
        );
    }

    #[test]
    fn error_codes_decide_closing() {
        assert_eq!(ErrorCode::BadMessage.close_status(), None);
        assert_eq!(ErrorCode::UnknownPeer.close_status(), None);
        assert_eq!(ErrorCode::RateLimited.close_status(), None);
        assert_eq!(ErrorCode::TooLarge.close_status(), Some(1009));
        assert_eq!(ErrorCode::RoomFull.close_status(), Some(1008));
        assert_eq!(ErrorCode::SlowConsumer.as_str(), "slow-consumer");
    }
}

/// Property tests (proptest): random input against what docs/PROTOCOL.md says.
#[cfg(test)]
mod properties;
