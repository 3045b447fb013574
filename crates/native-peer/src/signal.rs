//! The `signal.data` shapes of docs/PROTOCOL.md, as a WebRTC client reads and writes
//! them: a description or a candidate in the browser's JSON form. Shared by every native
//! client (the probe, the bridge's tests) so they all speak exactly what the UI speaks.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

/// What a `signal.data` value means to a WebRTC client.
#[derive(Debug, PartialEq)]
pub enum SignalData {
    /// `{"description":{"type","sdp"}}`
    Description { kind: String, sdp: String },
    /// `{"candidate":{...}}`, or `{"candidate":null}` (end of candidates) as `None`.
    Candidate(Option<CandidateJson>),
    /// Anything else: ignored, so clients can add their own shapes.
    Other,
}

/// An ICE candidate in the browser's `RTCIceCandidateInit` JSON form.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct CandidateJson {
    pub candidate: String,
    #[serde(rename = "sdpMid", default)]
    pub sdp_mid: Option<String>,
    #[serde(rename = "sdpMLineIndex", default)]
    pub sdp_mline_index: Option<u16>,
    #[serde(
        rename = "usernameFragment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub username_fragment: Option<String>,
}

impl SignalData {
    /// Reads a `signal.data` value. Malformed shapes become `Other` rather than errors:
    /// the data comes from another client, and one bad message must not end a link.
    pub fn parse(data: &Value) -> SignalData {
        if let Some(desc) = data.get("description") {
            let kind = desc.get("type").and_then(Value::as_str);
            let sdp = desc.get("sdp").and_then(Value::as_str);
            if let (Some(kind), Some(sdp)) = (kind, sdp) {
                return SignalData::Description {
                    kind: kind.to_owned(),
                    sdp: sdp.to_owned(),
                };
            }
            return SignalData::Other;
        }
        if let Some(cand) = data.get("candidate") {
            if cand.is_null() {
                return SignalData::Candidate(None);
            }
            return match serde_json::from_value::<CandidateJson>(cand.clone()) {
                // Browsers mark the end of candidates with an empty string, too.
                Ok(c) if c.candidate.is_empty() => SignalData::Candidate(None),
                Ok(c) => SignalData::Candidate(Some(c)),
                Err(_) => SignalData::Other,
            };
        }
        SignalData::Other
    }

    /// `{"description":{"type":kind,"sdp":sdp}}`
    pub fn description(kind: &str, sdp: &str) -> Value {
        json!({"description": {"type": kind, "sdp": sdp}})
    }

    /// `{"candidate":{...}}` or, for `None`, `{"candidate":null}`.
    pub fn candidate(candidate: Option<&CandidateJson>) -> Value {
        json!({ "candidate": candidate })
    }
}

impl CandidateJson {
    /// A local candidate as the UI sends it: the core leaves `sdpMid` empty, and
    /// browsers need the real mid of the bundled (first) m-line to place it.
    pub fn local(candidate: String, mid: Option<&str>) -> CandidateJson {
        CandidateJson {
            candidate,
            sdp_mid: Some(mid.unwrap_or("0").to_owned()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        }
    }

    /// The same candidate as the WebRTC stack takes it.
    pub fn into_init(self) -> RTCIceCandidateInit {
        RTCIceCandidateInit {
            candidate: self.candidate,
            sdp_mid: self.sdp_mid,
            sdp_mline_index: self.sdp_mline_index,
            username_fragment: self.username_fragment,
            url: None,
        }
    }
}

/// A `rollback` description: webrtc 0.21 has no constructor for it, but parses it.
pub fn rollback() -> Result<RTCSessionDescription, serde_json::Error> {
    serde_json::from_value(json!({"type": "rollback", "sdp": ""}))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn signal_data_shapes_match_the_ui() {
        let d = SignalData::description("offer", "v=0");
        assert_eq!(d, json!({"description":{"type":"offer","sdp":"v=0"}}));
        assert_eq!(
            SignalData::parse(&d),
            SignalData::Description {
                kind: "offer".into(),
                sdp: "v=0".into()
            }
        );
        let c = CandidateJson {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        };
        let v = SignalData::candidate(Some(&c));
        assert_eq!(
            v,
            json!({"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}})
        );
        assert_eq!(SignalData::parse(&v), SignalData::Candidate(Some(c)));
        assert_eq!(SignalData::candidate(None), json!({"candidate":null}));
        assert_eq!(
            SignalData::parse(&json!({"candidate":null})),
            SignalData::Candidate(None)
        );
        assert_eq!(SignalData::parse(&json!({"hello":1})), SignalData::Other);
        assert_eq!(SignalData::parse(&Value::Null), SignalData::Other);
    }

    #[test]
    fn rollback_parses() {
        assert!(rollback().is_ok());
    }
}
