//! The wire shapes the probe speaks, exactly as docs/PROTOCOL.md writes them: peer-socket
//! frames to and from the node, the `signal.data` shapes shared with the UI, and the
//! JSON carried on the `lanmeet` data channel.
//!
//! These are the probe's own copies rather than the core crate's types on purpose: the
//! probe is a client written against the published contract, so a change in the node
//! that breaks the contract breaks the probe's tests instead of silently following it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A frame the probe sends to the node.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum ClientMessage<'a> {
    Join {
        room: &'a str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        passcode: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        resume: Option<&'a str>,
    },
    Signal {
        to: &'a str,
        data: &'a Value,
    },
    Leave,
}

impl ClientMessage<'_> {
    /// Serializes the frame; the types here cannot fail to serialize, but the error is
    /// still passed up rather than unwrapped.
    pub(crate) fn to_text(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// One ICE server of `welcome.iceServers` [ext].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct IceServerInfo {
    #[serde(default)]
    pub(crate) urls: Vec<String>,
    #[serde(default)]
    pub(crate) username: Option<String>,
    #[serde(default)]
    pub(crate) credential: Option<String>,
}

/// The room as `welcome` describes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct RoomInfo {
    /// The room code as the node shows it.
    #[serde(default)]
    pub code: String,
    /// The room's display name.
    #[serde(default)]
    pub name: String,
    /// Most participants the room admits.
    #[serde(default)]
    pub capacity: u32,
}

/// Another participant as `welcome` and `peer-joined` describe it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub(crate) struct PeerInfo {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: String,
}

/// A frame the node sends. Unknown types are kept as `Unknown` and ignored, because
/// docs/PROTOCOL.md allows new message types.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub(crate) enum ServerMessage {
    Welcome {
        id: String,
        token: String,
        #[serde(default)]
        resumed: bool,
        #[serde(default)]
        room: RoomInfo,
        #[serde(default)]
        peers: Vec<PeerInfo>,
        /// [ext] The host's relay (this member's credentials) and servers its
        /// person set: used after the probe's host candidates, as a fallback.
        #[serde(default, rename = "iceServers")]
        ice_servers: Vec<IceServerInfo>,
    },
    PeerJoined {
        peer: PeerInfo,
    },
    PeerLeft {
        id: String,
    },
    Signal {
        from: String,
        #[serde(default)]
        data: Value,
    },
    Error {
        code: String,
        #[serde(default)]
        message: String,
    },
    RoomClosed,
    #[serde(other)]
    Unknown,
}

/// Error codes after which the node closes the socket and a resume cannot help.
pub(crate) fn is_fatal_error(code: &str) -> bool {
    matches!(
        code,
        "not-joined"
            | "already-joined"
            | "room-not-found"
            | "room-full"
            | "bad-passcode"
            | "too-large"
            | "join-timeout"
    )
}

/// A message on the `lanmeet` data channel, as far as the probe understands it.
#[derive(Debug, PartialEq)]
pub(crate) enum ChannelMessage {
    /// `{"type":"ping","id":...}`; the id is echoed back as it came.
    Ping(Value),
    /// `{"type":"pong","id":N}` answering one of our pings.
    Pong(Option<u64>),
    /// `{"type":"chat","text","ts"}`
    Chat { text: String, ts: Option<u64> },
    /// `{"type":"state",...}`: kept as sent.
    State(Value),
    /// Any other JSON, or not JSON: counted, otherwise ignored.
    Other,
}

impl ChannelMessage {
    pub(crate) fn parse(text: &str) -> ChannelMessage {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return ChannelMessage::Other;
        };
        match value.get("type").and_then(Value::as_str) {
            Some("ping") => ChannelMessage::Ping(value.get("id").cloned().unwrap_or(Value::Null)),
            Some("pong") => ChannelMessage::Pong(value.get("id").and_then(Value::as_u64)),
            Some("chat") => match value.get("text").and_then(Value::as_str) {
                Some(text) => ChannelMessage::Chat {
                    text: text.to_owned(),
                    ts: value
                        .get("ts")
                        .and_then(|t| t.as_u64().or_else(|| t.as_f64().map(|f| f as u64))),
                },
                None => ChannelMessage::Other,
            },
            Some("state") => ChannelMessage::State(value),
            _ => ChannelMessage::Other,
        }
    }

    pub(crate) fn pong(id: &Value) -> String {
        json!({"type": "pong", "id": id}).to_string()
    }

    pub(crate) fn ping(id: u64) -> String {
        json!({"type": "ping", "id": id}).to_string()
    }

    pub(crate) fn chat(text: &str, ts: u64) -> String {
        json!({"type": "chat", "text": text, "ts": ts}).to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn join_omits_absent_options() {
        let join = ClientMessage::Join {
            room: "K7MQ2P",
            name: "probe-1",
            passcode: None,
            resume: None,
        };
        let v: Value = serde_json::from_str(&join.to_text().unwrap()).unwrap();
        assert_eq!(v, json!({"type":"join","room":"K7MQ2P","name":"probe-1"}));
        let join = ClientMessage::Join {
            room: "K7MQ2P",
            name: "p",
            passcode: Some("pw"),
            resume: Some("tok"),
        };
        let v: Value = serde_json::from_str(&join.to_text().unwrap()).unwrap();
        assert_eq!(v["passcode"], "pw");
        assert_eq!(v["resume"], "tok");
    }

    #[test]
    fn signal_and_leave_frames() {
        let data = json!({"candidate": null});
        let v: Value = serde_json::from_str(
            &ClientMessage::Signal {
                to: "abc",
                data: &data,
            }
            .to_text()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"type":"signal","to":"abc","data":{"candidate":null}})
        );
        assert_eq!(
            ClientMessage::Leave.to_text().unwrap(),
            r#"{"type":"leave"}"#
        );
    }

    #[test]
    fn server_messages_parse() {
        let w: ServerMessage = serde_json::from_str(
            r#"{"type":"welcome","id":"me","token":"t","resumed":false,"room":{"code":"K7MQ2P","name":"Friday","capacity":8},"peers":[{"id":"b","name":"Bob"}]}"#,
        )
        .unwrap();
        match w {
            ServerMessage::Welcome {
                id, peers, room, ..
            } => {
                assert_eq!(id, "me");
                assert_eq!(room.capacity, 8);
                assert_eq!(peers[0].name, "Bob");
            }
            other => panic!("{other:?}"),
        }
        let m: ServerMessage = serde_json::from_str(r#"{"type":"room-closed"}"#).unwrap();
        assert!(matches!(m, ServerMessage::RoomClosed));
        let m: ServerMessage = serde_json::from_str(r#"{"type":"something-new","x":1}"#).unwrap();
        assert!(matches!(m, ServerMessage::Unknown));
        let m: ServerMessage =
            serde_json::from_str(r#"{"type":"signal","from":"a","data":null}"#).unwrap();
        assert!(matches!(
            m,
            ServerMessage::Signal {
                data: Value::Null,
                ..
            }
        ));
    }

    #[test]
    fn channel_messages() {
        assert_eq!(
            ChannelMessage::parse(r#"{"type":"ping","id":7}"#),
            ChannelMessage::Ping(json!(7))
        );
        assert_eq!(ChannelMessage::pong(&json!(7)), r#"{"id":7,"type":"pong"}"#);
        assert_eq!(
            ChannelMessage::parse(&ChannelMessage::ping(3)),
            ChannelMessage::Ping(json!(3))
        );
        assert_eq!(
            ChannelMessage::parse(r#"{"type":"pong","id":3}"#),
            ChannelMessage::Pong(Some(3))
        );
        assert_eq!(
            ChannelMessage::parse(r#"{"type":"chat","text":"hi","ts":1700000000000}"#),
            ChannelMessage::Chat {
                text: "hi".into(),
                ts: Some(1_700_000_000_000)
            }
        );
        assert_eq!(ChannelMessage::parse("not json"), ChannelMessage::Other);
        assert_eq!(
            ChannelMessage::parse(r#"{"type":"x"}"#),
            ChannelMessage::Other
        );
    }
}
