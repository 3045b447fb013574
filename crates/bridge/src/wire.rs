//! The page↔bridge wire format (docs/BRIDGE.md): JSON requests, responses and events in
//! text messages, encoded media in binary messages with a fixed header.
//!
//! Everything here is pure: parsing what the page sent and encoding what goes back, so
//! every shape is tested without sockets.

use bytes::{BufMut, Bytes, BytesMut};
use lanmeet_native_peer::CandidateJson;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::PageError;

/// Version of this protocol, sent in the `ready` event.
pub const PROTOCOL_VERSION: u32 = 1;

/// Type byte of a media frame the page sends (its own encoding, to every peer).
pub const PAGE_FRAME: u8 = 0x01;
/// The first byte of a page's flow ack: `[0x03][0][0][0][frames: u32 BE][bytes: u64 BE]`,
/// the media frames and bytes it has read since the session began.
pub const PAGE_ACK: u8 = 0x03;
/// A flow ack's length.
pub const PAGE_ACK_LEN: usize = 16;

/// Parses a flow ack (`None`: not one; see [`PAGE_ACK`]).
pub fn parse_page_ack(msg: &[u8]) -> Option<(u32, u64)> {
    if msg.len() != PAGE_ACK_LEN || msg[0] != PAGE_ACK {
        return None;
    }
    let frames = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&msg[8..16]);
    Some((frames, u64::from_be_bytes(bytes)))
}
/// Type byte of a media frame the bridge sends (one remote's, reassembled).
pub const REMOTE_FRAME: u8 = 0x02;
/// Header length of a page frame.
pub const PAGE_HEADER_LEN: usize = 16;
/// Header length of a remote frame.
pub const REMOTE_HEADER_LEN: usize = 20;
/// Flag: the frame is a keyframe (always set for audio).
pub const FLAG_KEYFRAME: u8 = 0x01;
/// Flag (bridge → page): frames of this stream were lost or dropped before this one.
pub const FLAG_AFTER_GAP: u8 = 0x02;

/// A media kind, as on the wire (`"audio"`/`"video"`; 0/1 in binary headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Opus.
    Audio,
    /// VP8.
    Video,
}

impl Kind {
    /// The binary header's byte.
    pub fn byte(self) -> u8 {
        match self {
            Kind::Audio => 0,
            Kind::Video => 1,
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Audio),
            1 => Some(Kind::Video),
            _ => None,
        }
    }

    /// As in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Audio => "audio",
            Kind::Video => "video",
        }
    }
}

/// A transceiver direction, as `RTCRtpTransceiver.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Send and receive.
    Sendrecv,
    /// Send only.
    Sendonly,
    /// Receive only.
    Recvonly,
    /// Neither.
    Inactive,
}

/// A session description as the page sends it (`RTCSessionDescriptionInit`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Description {
    /// `offer`, `answer`, `pranswer` or `rollback`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The SDP (empty for a rollback).
    #[serde(default)]
    pub sdp: String,
}

/// One STUN/TURN server as `RTCIceServer` (`urls` may be one string or a list).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IceServerJson {
    /// The URLs.
    pub urls: Urls,
    /// TURN user name.
    #[serde(default)]
    pub username: String,
    /// TURN credential.
    #[serde(default)]
    pub credential: String,
}

/// `urls` of an `RTCIceServer`: a string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    /// One URL.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Urls {
    /// As a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Urls::One(u) => vec![u],
            Urls::Many(v) => v,
        }
    }
}

/// What the page asks (`{"id":N,"op":"…",…}`); see docs/BRIDGE.md for each.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Op {
    /// `new RTCPeerConnection(config)`.
    CreatePeer {
        /// The page's id for it.
        pc: u32,
        /// `config.iceServers`.
        #[serde(default, rename = "iceServers")]
        ice_servers: Vec<IceServerJson>,
    },
    /// `pc.close()`.
    ClosePeer {
        /// Which.
        pc: u32,
    },
    /// `pc.createOffer({iceRestart})`.
    CreateOffer {
        /// Which.
        pc: u32,
        /// Restart ICE in this offer.
        #[serde(default, rename = "iceRestart")]
        ice_restart: bool,
    },
    /// `pc.createAnswer()`.
    CreateAnswer {
        /// Which.
        pc: u32,
    },
    /// `pc.setLocalDescription(desc?)`: without a description, the implicit offer or
    /// answer of the W3C spec.
    SetLocalDescription {
        /// Which.
        pc: u32,
        /// The description, or none for the implicit one.
        #[serde(default)]
        description: Option<Description>,
    },
    /// `pc.setRemoteDescription(desc)` (a `rollback` too).
    SetRemoteDescription {
        /// Which.
        pc: u32,
        /// The description.
        description: Description,
    },
    /// `pc.addIceCandidate(c)`; `null` (end of candidates) is accepted and ignored.
    AddIceCandidate {
        /// Which.
        pc: u32,
        /// The candidate.
        #[serde(default)]
        candidate: Option<CandidateJson>,
    },
    /// `pc.restartIce()`.
    RestartIce {
        /// Which.
        pc: u32,
    },
    /// `pc.addTransceiver(kind|track, {direction})`; `send` attaches the page's
    /// encoding of that kind (a track was given).
    AddTransceiver {
        /// Which.
        pc: u32,
        /// Audio or video.
        kind: Kind,
        /// Its direction.
        direction: Direction,
        /// Send the page's encoding of `kind` on it.
        #[serde(default)]
        send: bool,
        /// With `send`: whether that sender sends at once (`false`: silent until
        /// `setSending`, a transceiver given no track). Absent: it does.
        #[serde(default)]
        sending: Option<bool>,
        /// Its `encodings`, as `setParameters` would set them (one request instead of
        /// two, so the page need not wait for the transceiver's id to send them).
        #[serde(default)]
        encodings: Option<Value>,
    },
    /// `transceiver.direction = d`.
    SetDirection {
        /// Which connection.
        pc: u32,
        /// Which transceiver.
        transceiver: usize,
        /// The new direction.
        direction: Direction,
    },
    /// `sender.replaceTrack(track|null)`: whether this transceiver sends the page's
    /// encoding of its kind.
    SetSending {
        /// Which connection.
        pc: u32,
        /// Which transceiver.
        transceiver: usize,
        /// Send (a track) or not (`null`).
        send: bool,
    },
    /// `sender.setParameters(p)`: kept and echoed by `getTransceivers`; the page's own
    /// encoder applies them (one encoding serves every peer).
    SetParameters {
        /// Which connection.
        pc: u32,
        /// Which transceiver.
        transceiver: usize,
        /// `encodings` as the page sent them.
        encodings: Value,
    },
    /// `pc.getTransceivers()`: ids, kinds, mids, directions, parameters.
    GetTransceivers {
        /// Which.
        pc: u32,
    },
    /// `pc.createDataChannel(label, {ordered})`.
    CreateDataChannel {
        /// Which connection.
        pc: u32,
        /// The page's id for the channel (below 2^31; see docs/BRIDGE.md).
        channel: u32,
        /// Its label.
        label: String,
        /// Ordered delivery (default true).
        #[serde(default = "yes")]
        ordered: bool,
    },
    /// `channel.send(text)`.
    SendData {
        /// Which connection.
        pc: u32,
        /// Which channel.
        channel: u32,
        /// The text.
        data: String,
    },
    /// `channel.close()`.
    CloseDataChannel {
        /// Which connection.
        pc: u32,
        /// Which channel.
        channel: u32,
    },
    /// `pc.getStats()`, the subset the UI reads.
    GetStats {
        /// Which.
        pc: u32,
    },
    /// Ask this remote for a keyframe of its video (a PLI): the page's decoder lost
    /// its reference.
    RequestKeyframe {
        /// Which connection.
        pc: u32,
    },
}

fn yes() -> bool {
    true
}

impl Op {
    /// The op's name on the wire, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreatePeer { .. } => "createPeer",
            Op::ClosePeer { .. } => "closePeer",
            Op::CreateOffer { .. } => "createOffer",
            Op::CreateAnswer { .. } => "createAnswer",
            Op::SetLocalDescription { .. } => "setLocalDescription",
            Op::SetRemoteDescription { .. } => "setRemoteDescription",
            Op::AddIceCandidate { .. } => "addIceCandidate",
            Op::RestartIce { .. } => "restartIce",
            Op::AddTransceiver { .. } => "addTransceiver",
            Op::SetDirection { .. } => "setDirection",
            Op::SetSending { .. } => "setSending",
            Op::SetParameters { .. } => "setParameters",
            Op::GetTransceivers { .. } => "getTransceivers",
            Op::CreateDataChannel { .. } => "createDataChannel",
            Op::SendData { .. } => "sendData",
            Op::CloseDataChannel { .. } => "closeDataChannel",
            Op::GetStats { .. } => "getStats",
            Op::RequestKeyframe { .. } => "requestKeyframe",
        }
    }

    /// The peer connection the op is about.
    pub fn pc(&self) -> u32 {
        match self {
            Op::CreatePeer { pc, .. }
            | Op::ClosePeer { pc }
            | Op::CreateOffer { pc, .. }
            | Op::CreateAnswer { pc }
            | Op::SetLocalDescription { pc, .. }
            | Op::SetRemoteDescription { pc, .. }
            | Op::AddIceCandidate { pc, .. }
            | Op::RestartIce { pc }
            | Op::AddTransceiver { pc, .. }
            | Op::SetDirection { pc, .. }
            | Op::SetSending { pc, .. }
            | Op::SetParameters { pc, .. }
            | Op::GetTransceivers { pc }
            | Op::CreateDataChannel { pc, .. }
            | Op::SendData { pc, .. }
            | Op::CloseDataChannel { pc, .. }
            | Op::GetStats { pc }
            | Op::RequestKeyframe { pc } => *pc,
        }
    }
}

/// A parsed request: its id (echoed in the response) and what it asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The page's request id.
    pub id: u64,
    /// The op.
    pub op: Op,
}

/// Parses one text message. On error, returns the request id when one could be read,
/// so the error answers the right request.
pub fn parse_request(text: &str) -> Result<Request, (Option<u64>, PageError)> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| (None, PageError::BadRequest(format!("not JSON: {e}"))))?;
    let Some(obj) = value.as_object() else {
        return Err((None, PageError::BadRequest("not an object".into())));
    };
    let id = obj.get("id").and_then(Value::as_u64);
    let Some(id) = id else {
        return Err((None, PageError::BadRequest("no numeric id".into())));
    };
    let Some(op) = obj.get("op").and_then(Value::as_str) else {
        return Err((Some(id), PageError::BadRequest("no op".into())));
    };
    const KNOWN: &[&str] = &[
        "createPeer",
        "closePeer",
        "createOffer",
        "createAnswer",
        "setLocalDescription",
        "setRemoteDescription",
        "addIceCandidate",
        "restartIce",
        "addTransceiver",
        "setDirection",
        "setSending",
        "setParameters",
        "getTransceivers",
        "createDataChannel",
        "sendData",
        "closeDataChannel",
        "getStats",
        "requestKeyframe",
    ];
    if !KNOWN.contains(&op) {
        return Err((
            Some(id),
            PageError::UnknownOp(op.chars().take(64).collect()),
        ));
    }
    let op: Op = serde_json::from_value(value)
        .map_err(|e| (Some(id), PageError::BadRequest(e.to_string())))?;
    Ok(Request { id, op })
}

/// A successful response.
pub fn ok(id: u64, result: Value) -> String {
    json!({"id": id, "ok": true, "result": result}).to_string()
}

/// An error response (`id` null when the request's id could not be read).
pub fn error(id: Option<u64>, e: &PageError) -> String {
    json!({"id": id, "ok": false, "error": {"code": e.code(), "message": e.to_string()}})
        .to_string()
}

/// An event (`{"event":name,…fields}`).
pub fn event(name: &str, mut fields: Value) -> String {
    if let Some(obj) = fields.as_object_mut() {
        obj.insert("event".into(), Value::String(name.to_owned()));
        return fields.to_string();
    }
    json!({"event": name}).to_string()
}

/// A media frame from the page: its own encoding of `kind`, for every peer that sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFrame {
    /// Audio or video.
    pub kind: Kind,
    /// A keyframe (video).
    pub keyframe: bool,
    /// How long the frame lasts, in microseconds (audio's RTP timestamp advances by it;
    /// video is stamped when sent, see `rtp_out`).
    pub duration_us: u32,
    /// The page's capture timestamp in microseconds (video's RTP clock with
    /// `LANMEET_BRIDGE_VIDEO_CLOCK=capture`).
    pub timestamp_us: u64,
    /// The encoded frame (VP8 or Opus, as WebCodecs produced it).
    pub data: Bytes,
}

/// Parses a page frame: `[0x01][flags][kind][0][duration_us: u32 BE][timestamp_us: u64 BE]`
/// then the payload.
pub fn parse_page_frame(msg: Bytes) -> Result<PageFrame, PageError> {
    if msg.len() < PAGE_HEADER_LEN {
        return Err(PageError::BadFrame("shorter than its header"));
    }
    if msg[0] != PAGE_FRAME {
        return Err(PageError::BadFrame("unknown frame type"));
    }
    let flags = msg[1];
    let kind = Kind::from_byte(msg[2]).ok_or(PageError::BadFrame("unknown kind"))?;
    let duration_us = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&msg[8..16]);
    let data = msg.slice(PAGE_HEADER_LEN..);
    if data.is_empty() {
        return Err(PageError::BadFrame("empty payload"));
    }
    Ok(PageFrame {
        kind,
        keyframe: flags & FLAG_KEYFRAME != 0 || kind == Kind::Audio,
        duration_us,
        timestamp_us: u64::from_be_bytes(ts),
        data,
    })
}

/// Encodes a page frame (the test client's and, in JS, the shim's side).
pub fn encode_page_frame(f: &PageFrame) -> Bytes {
    let mut b = BytesMut::with_capacity(PAGE_HEADER_LEN + f.data.len());
    b.put_u8(PAGE_FRAME);
    b.put_u8(if f.keyframe { FLAG_KEYFRAME } else { 0 });
    b.put_u8(f.kind.byte());
    b.put_u8(0);
    b.put_u32(f.duration_us);
    b.put_u64(f.timestamp_us);
    b.put_slice(&f.data);
    b.freeze()
}

/// A frame from a remote, reassembled, for the page to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFrame {
    /// The page's peer connection id.
    pub pc: u32,
    /// The transceiver it came in on.
    pub transceiver: u32,
    /// Audio or video.
    pub kind: Kind,
    /// A keyframe.
    pub keyframe: bool,
    /// Frames of this stream were lost or dropped before this one.
    pub after_gap: bool,
    /// The RTP timestamp (90 kHz video, 48 kHz audio).
    pub rtp_timestamp: u32,
    /// Frames of this stream so far, delivered or not (a gap shows as a jump).
    pub sequence: u32,
    /// The encoded frame.
    pub data: Bytes,
}

/// Encodes a remote frame: `[0x02][flags][kind][0][pc: u32][transceiver: u32]
/// [rtp_timestamp: u32][sequence: u32]` (big endian) then the payload.
pub fn encode_remote_frame(f: &RemoteFrame) -> Bytes {
    let mut b = BytesMut::with_capacity(REMOTE_HEADER_LEN + f.data.len());
    b.put_u8(REMOTE_FRAME);
    let mut flags = 0;
    if f.keyframe {
        flags |= FLAG_KEYFRAME;
    }
    if f.after_gap {
        flags |= FLAG_AFTER_GAP;
    }
    b.put_u8(flags);
    b.put_u8(f.kind.byte());
    b.put_u8(0);
    b.put_u32(f.pc);
    b.put_u32(f.transceiver);
    b.put_u32(f.rtp_timestamp);
    b.put_u32(f.sequence);
    b.put_slice(&f.data);
    b.freeze()
}

/// Parses a remote frame (the test client's and, in JS, the shim's side).
pub fn parse_remote_frame(msg: &Bytes) -> Option<RemoteFrame> {
    if msg.len() < REMOTE_HEADER_LEN || msg[0] != REMOTE_FRAME {
        return None;
    }
    let u32_at = |i: usize| u32::from_be_bytes([msg[i], msg[i + 1], msg[i + 2], msg[i + 3]]);
    Some(RemoteFrame {
        keyframe: msg[1] & FLAG_KEYFRAME != 0,
        after_gap: msg[1] & FLAG_AFTER_GAP != 0,
        kind: Kind::from_byte(msg[2])?,
        pc: u32_at(4),
        transceiver: u32_at(8),
        rtp_timestamp: u32_at(12),
        sequence: u32_at(16),
        data: msg.slice(REMOTE_HEADER_LEN..),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn requests_parse() {
        let r =
            parse_request(r#"{"id":3,"op":"createPeer","pc":1,"iceServers":[{"urls":"stun:x"}]}"#)
                .unwrap();
        assert_eq!(r.id, 3);
        match r.op {
            Op::CreatePeer { pc, ice_servers } => {
                assert_eq!(pc, 1);
                assert_eq!(ice_servers[0].urls.clone().into_vec(), vec!["stun:x"]);
            }
            other => panic!("{other:?}"),
        }
        let r = parse_request(r#"{"id":4,"op":"setLocalDescription","pc":1}"#).unwrap();
        assert_eq!(
            r.op,
            Op::SetLocalDescription {
                pc: 1,
                description: None
            }
        );
        let r = parse_request(
            r#"{"id":5,"op":"addIceCandidate","pc":2,"candidate":{"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0}}"#,
        )
        .unwrap();
        assert!(matches!(
            r.op,
            Op::AddIceCandidate {
                pc: 2,
                candidate: Some(_)
            }
        ));
        let r =
            parse_request(r#"{"id":6,"op":"addIceCandidate","pc":2,"candidate":null}"#).unwrap();
        assert_eq!(
            r.op,
            Op::AddIceCandidate {
                pc: 2,
                candidate: None
            }
        );
        let r = parse_request(
            r#"{"id":7,"op":"createDataChannel","pc":2,"channel":1,"label":"lanmeet"}"#,
        )
        .unwrap();
        assert!(matches!(r.op, Op::CreateDataChannel { ordered: true, .. }));
        // addTransceiver: `sending` and `encodings` are optional (a page of before sends
        // neither, and follows with setSending / setParameters).
        let r = parse_request(
            r#"{"id":8,"op":"addTransceiver","pc":2,"kind":"video","direction":"sendrecv","send":true}"#,
        )
        .unwrap();
        assert!(matches!(
            r.op,
            Op::AddTransceiver {
                send: true,
                sending: None,
                encodings: None,
                ..
            }
        ));
        let r = parse_request(
            r#"{"id":9,"op":"addTransceiver","pc":2,"kind":"video","direction":"sendrecv","send":true,"sending":false,"encodings":[{"maxBitrate":900000}]}"#,
        )
        .unwrap();
        match r.op {
            Op::AddTransceiver {
                sending, encodings, ..
            } => {
                assert_eq!(sending, Some(false));
                assert_eq!(encodings, Some(json!([{"maxBitrate": 900000}])));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_requests_say_why_and_keep_the_id() {
        let (id, e) = parse_request("nope").unwrap_err();
        assert_eq!((id, e.code()), (None, "bad-request"));
        let (id, e) = parse_request("[1]").unwrap_err();
        assert_eq!((id, e.code()), (None, "bad-request"));
        let (id, e) = parse_request(r#"{"op":"closePeer","pc":1}"#).unwrap_err();
        assert_eq!((id, e.code()), (None, "bad-request"));
        let (id, e) = parse_request(r#"{"id":9,"op":"fly"}"#).unwrap_err();
        assert_eq!((id, e.code()), (Some(9), "unknown-op"));
        let (id, e) = parse_request(r#"{"id":9,"op":"closePeer","pc":"x"}"#).unwrap_err();
        assert_eq!((id, e.code()), (Some(9), "bad-request"));
        let (id, e) = parse_request(
            r#"{"id":9,"op":"addTransceiver","pc":1,"kind":"smell","direction":"sendrecv"}"#,
        )
        .unwrap_err();
        assert_eq!((id, e.code()), (Some(9), "bad-request"));
    }

    #[test]
    fn responses_and_events() {
        let v: Value = serde_json::from_str(&ok(1, json!({"a": 1}))).unwrap();
        assert_eq!(v, json!({"id": 1, "ok": true, "result": {"a": 1}}));
        let v: Value = serde_json::from_str(&error(None, &PageError::NoSuchPeer(4))).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["error"]["code"], "no-such-peer");
        let v: Value = serde_json::from_str(&event("negotiationneeded", json!({"pc": 2}))).unwrap();
        assert_eq!(v, json!({"event": "negotiationneeded", "pc": 2}));
    }

    #[test]
    fn page_frames_round_trip_and_bad_ones_are_refused() {
        let f = PageFrame {
            kind: Kind::Video,
            keyframe: true,
            duration_us: 33_333,
            timestamp_us: 1_234_567,
            data: Bytes::from_static(b"vp8!"),
        };
        let enc = encode_page_frame(&f);
        assert_eq!(enc.len(), PAGE_HEADER_LEN + 4);
        assert_eq!(parse_page_frame(enc.clone()).unwrap(), f);
        assert!(parse_page_frame(enc.slice(..10)).is_err());
        assert!(parse_page_frame(enc.slice(..PAGE_HEADER_LEN)).is_err());
        let mut bad = enc.to_vec();
        bad[0] = 9;
        assert!(parse_page_frame(Bytes::from(bad)).is_err());
        let mut bad = enc.to_vec();
        bad[2] = 7;
        assert!(parse_page_frame(Bytes::from(bad)).is_err());
    }

    #[test]
    fn remote_frames_round_trip() {
        let f = RemoteFrame {
            pc: 7,
            transceiver: 1,
            kind: Kind::Audio,
            keyframe: true,
            after_gap: true,
            rtp_timestamp: 48_000,
            sequence: 12,
            data: Bytes::from_static(b"opus"),
        };
        let enc = encode_remote_frame(&f);
        assert_eq!(enc.len(), REMOTE_HEADER_LEN + 4);
        assert_eq!(parse_remote_frame(&enc).unwrap(), f);
        assert!(parse_remote_frame(&enc.slice(..5)).is_none());
    }

    #[test]
    fn flow_acks_parse_and_other_frames_are_not_acks() {
        let mut ack = vec![PAGE_ACK, 0, 0, 0];
        ack.extend_from_slice(&300u32.to_be_bytes());
        ack.extend_from_slice(&(5u64 << 32).to_be_bytes());
        assert_eq!(parse_page_ack(&ack), Some((300, 5u64 << 32)));
        assert_eq!(parse_page_ack(&ack[..15]), None);
        let mut frame = ack.clone();
        frame[0] = PAGE_FRAME;
        assert_eq!(parse_page_ack(&frame), None);
        ack.push(0);
        assert_eq!(parse_page_ack(&ack), None);
    }
}
