//! The `signal.data` shapes of docs/PROTOCOL.md, as a WebRTC client reads and writes
//! them: a description or a candidate in the browser's JSON form. Shared by every native
//! client (the probe, the bridge's tests) so they all speak exactly what the UI speaks.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCSessionDescription,
};

use crate::sdp;

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

/// Turns gathered local candidates into the JSON the UI sends, with the mid of the
/// bundled (first) m-line of our local description. The driver's candidates carry an
/// empty `sdpMid`, and browsers need the real one to place them. The mid is learned
/// when a local description is set ([`LocalCandidates::set_local_description`]) or, if a
/// candidate comes first, read from the connection once and kept.
#[derive(Debug, Default)]
pub struct LocalCandidates {
    mid: Option<String>,
}

impl LocalCandidates {
    /// Our local description is now `sdp`: its first mid is the one candidates carry.
    /// (An answer keeps the offer's m-line order, so offer and answer agree.)
    pub fn set_local_description(&mut self, sdp: &str) {
        if let Some(mid) = sdp::first_mid(sdp) {
            self.mid = Some(mid);
        }
    }

    /// The gathered candidate of `event` as `RTCIceCandidateInit` JSON for `signal.data`.
    pub async fn to_json(
        &mut self,
        pc: &dyn PeerConnection,
        event: &RTCPeerConnectionIceEvent,
    ) -> Result<CandidateJson, webrtc::error::Error> {
        let init = event.candidate.to_json()?;
        if self.mid.is_none() {
            self.mid = pc
                .local_description()
                .await
                .and_then(|d| sdp::first_mid(&d.sdp));
        }
        Ok(CandidateJson::local(init.candidate, self.mid.as_deref()))
    }

    /// The mid candidates are sent with now (`None` until one is known; they then
    /// carry `"0"`).
    pub fn mid(&self) -> Option<&str> {
        self.mid.as_deref()
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
    fn local_candidates_take_the_first_mid_of_the_local_description() {
        let mut lc = LocalCandidates::default();
        assert_eq!(lc.mid(), None);
        lc.set_local_description("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a2\r\n");
        assert_eq!(lc.mid(), Some("v1"));
        // A description without a mid (none set yet) keeps what was learned.
        lc.set_local_description("v=0\r\n");
        assert_eq!(lc.mid(), Some("v1"));
    }

    #[test]
    fn rollback_parses() {
        assert!(rollback().is_ok());
    }
}
