//! Received RTP made whole encoded frames again, for a client that decodes elsewhere
//! (the bridge hands frames to a page's WebCodecs decoders).
//!
//! [`FrameAssembler`] takes the RTP packets of one inbound stream in whatever order the
//! network delivered them and gives back complete frames in order, each with its RTP
//! timestamp and, for video, whether it is a keyframe. Its rules:
//!
//! - **Whole frames only.** A VP8 frame is the packets from one that starts a frame
//!   (descriptor S=1, partition 0) to the one with the RTP marker, contiguous in
//!   sequence number and of one timestamp; the VP8 payload descriptors are stripped.
//!   An Opus packet is one frame.
//! - **Reordering** is undone until a later frame is complete (or [`REORDER_WINDOW`]
//!   packets are held): then the hole is a loss and what is before it is dropped.
//! - **After a loss, video waits for a keyframe.** Delta frames that follow a lost
//!   frame cannot be decoded, so they are dropped until a keyframe arrives; the caller
//!   is told ([`Assembled::lost`]) so it can ask the sender for one (PLI). Audio just
//!   goes on.
//! - **Bounded.** At most [`REORDER_WINDOW`] packets and [`MAX_FRAME_BYTES`] per frame
//!   are held, whatever the sender does.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

/// How many packets past a hole are held before the hole is declared a loss. At the
/// sizes this carries (≤ 640x360 VP8, ≤ ~20 packets a keyframe) a reordering on a LAN
/// is a few packets; NACK retransmissions of the hole arrive within this window too.
pub const REORDER_WINDOW: usize = 256;
/// The largest frame assembled; a sender that claims a bigger one is dropped up to its
/// next keyframe. 640x360 VP8 keyframes are ~10–40 KB.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// The codecs a lanmeet call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// VP8 video (RFC 7741 payload descriptor).
    Vp8,
    /// Opus audio (one frame per packet).
    Opus,
}

impl Codec {
    /// The codec's MIME type as SDP and webrtc name it (`video/VP8`, `audio/opus`).
    pub fn mime_type(self) -> &'static str {
        use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
        match self {
            Codec::Vp8 => MIME_TYPE_VP8,
            Codec::Opus => MIME_TYPE_OPUS,
        }
    }
}

/// One whole encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The encoded frame, payload descriptors removed.
    pub data: Bytes,
    /// The RTP timestamp (90 kHz for video, 48 kHz for Opus).
    pub timestamp: u32,
    /// A VP8 keyframe (always true for audio: every Opus frame decodes on its own).
    pub keyframe: bool,
}

/// What one packet produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assembled {
    /// Frames now complete, in order.
    pub frames: Vec<Frame>,
    /// Frames were lost (or dropped as undecodable) since the last call: a video
    /// receiver should ask for a keyframe.
    pub lost: bool,
}

/// The description of a track a native peer sends: `codec` only (VP8 at 90 kHz, or Opus
/// 48 kHz stereo with in-band FEC, as browsers offer it), so the negotiation settles on
/// the codec the sender has, on a fresh random SSRC. The bridge wraps it in a
/// `TrackLocalStaticRTP` (it packetizes itself), the probe in a `TrackLocalStaticSample`.
/// `name` makes the stream id (shared by one sender's audio and video, so a browser
/// shows them as one person's), the track id and the label.
pub fn outbound_track(codec: Codec, name: &str) -> rtc::media_stream::MediaStreamTrack {
    use rtc::rtp_transceiver::rtp_sender::{
        RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
    };
    let (kind, rtp_codec) = match codec {
        Codec::Vp8 => (
            RtpCodecKind::Video,
            RTCRtpCodec {
                mime_type: codec.mime_type().to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            },
        ),
        Codec::Opus => (
            RtpCodecKind::Audio,
            RTCRtpCodec {
                mime_type: codec.mime_type().to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
        ),
    };
    let ssrc = rand::random::<u32>();
    rtc::media_stream::MediaStreamTrack::new(
        name.to_owned(),
        format!("{name}-{kind}-{ssrc:08x}"),
        format!("{name}-{kind}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: rtp_codec,
            ..Default::default()
        }],
    )
}

/// The payload type `sender`'s `codec` was negotiated with; `None` until an offer and
/// answer settled it (a native sender stamps it on every packet it writes, and writes
/// nothing before).
pub async fn negotiated_payload_type(
    sender: &dyn webrtc::rtp_transceiver::RtpSender,
    codec: Codec,
) -> Option<u8> {
    let params = sender.get_parameters().await.ok()?;
    params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| {
            c.rtp_codec
                .mime_type
                .eq_ignore_ascii_case(codec.mime_type())
        })
        .map(|c| c.payload_type)
}

/// Whether a VP8 frame (payload descriptor removed) is a keyframe: bit 0 of the first
/// byte of the frame tag is 0 for a keyframe (RFC 6386 9.1).
pub fn is_vp8_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// One received packet, as the assembler keeps it.
#[derive(Debug, Clone)]
struct Held {
    timestamp: u32,
    marker: bool,
    /// Starts a frame (VP8: S=1 and PID=0; Opus: always).
    start: bool,
    payload: Bytes,
}

/// Reassembles the frames of one inbound RTP stream; see the module docs.
#[derive(Debug)]
pub struct FrameAssembler {
    codec: Codec,
    /// Packets not yet part of an emitted frame, by extended sequence number.
    held: BTreeMap<u64, Held>,
    /// The extended sequence number expected next (after the last emitted or dropped
    /// packet); `None` before the first packet.
    next: Option<u64>,
    /// The highest extended sequence number seen, to extend the next one.
    highest: Option<u64>,
    /// Video only: a loss happened and only a keyframe can resume decoding.
    need_keyframe: bool,
    lost: bool,
    /// A frame was emitted or a hole given up: `next` only moves forward from now on.
    started: bool,
}

impl FrameAssembler {
    /// An assembler for one stream of `codec`. Video starts waiting for a keyframe: a
    /// receiver that joins mid-stream cannot decode deltas.
    pub fn new(codec: Codec) -> Self {
        FrameAssembler {
            codec,
            held: BTreeMap::new(),
            next: None,
            highest: None,
            need_keyframe: codec == Codec::Vp8,
            lost: false,
            started: false,
        }
    }

    /// Whether the stream waits for a keyframe (after a loss, or since its start).
    pub fn needs_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// The RTP sequence number extended to 64 bits, nearest to the highest seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            // Start high enough that a slightly earlier packet does not underflow.
            let ext = (1u64 << 32) + u64::from(seq);
            self.highest = Some(ext);
            return ext;
        };
        let cycle = highest & !0xffff;
        let candidates = [
            cycle.wrapping_sub(0x1_0000) | u64::from(seq),
            cycle | u64::from(seq),
            (cycle + 0x1_0000) | u64::from(seq),
        ];
        let ext = candidates
            .into_iter()
            .min_by_key(|c| c.abs_diff(highest))
            .unwrap_or(cycle | u64::from(seq));
        if ext > highest {
            self.highest = Some(ext);
        }
        ext
    }

    /// Takes one RTP packet (its sequence number, timestamp, marker bit and payload)
    /// and returns the frames it completes.
    pub fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: Bytes) -> Assembled {
        let ext = self.extend(seq);
        if !self.started && self.next.is_some_and(|n| ext < n) {
            // Nothing emitted yet: an earlier packet moves the start back.
            self.next = Some(ext);
        }
        if self.next.is_some_and(|n| ext < n) {
            // Late (after its hole was given up) or a duplicate: nothing to do.
            return self.take(Vec::new());
        }
        let held = match self.codec {
            Codec::Opus => Held {
                timestamp,
                marker: true,
                start: true,
                payload,
            },
            Codec::Vp8 => {
                let mut vp8 = Vp8Packet::default();
                match vp8.depacketize(&payload) {
                    Ok(data) => Held {
                        timestamp,
                        marker,
                        start: vp8.s == 1 && vp8.pid == 0,
                        payload: data,
                    },
                    // A payload that is not VP8: a hole where it was.
                    Err(_) => Held {
                        timestamp,
                        marker: false,
                        start: false,
                        payload: Bytes::new(),
                    },
                }
            }
        };
        self.held.insert(ext, held);
        if self.next.is_none() {
            self.next = Some(ext);
        }
        let mut frames = Vec::new();
        loop {
            if let Some(frame) = self.complete_frame() {
                if let Some(frame) = self.admit(frame) {
                    frames.push(frame);
                }
                continue;
            }
            if !self.skip_hole() {
                break;
            }
        }
        self.take(frames)
    }

    fn take(&mut self, frames: Vec<Frame>) -> Assembled {
        Assembled {
            frames,
            lost: std::mem::take(&mut self.lost),
        }
    }

    /// A frame that passes the keyframe rule.
    fn admit(&mut self, frame: Frame) -> Option<Frame> {
        if self.codec == Codec::Opus {
            return Some(frame);
        }
        if frame.keyframe {
            self.need_keyframe = false;
            return Some(frame);
        }
        if self.need_keyframe {
            self.lost = true;
            return None;
        }
        Some(frame)
    }

    /// Removes and returns the frame at the front if it is complete.
    fn complete_frame(&mut self) -> Option<Frame> {
        let next = self.next?;
        let first = self.held.get(&next)?;
        if !first.start {
            return None;
        }
        let timestamp = first.timestamp;
        let mut end = None;
        let mut seq = next;
        let mut size = 0usize;
        while let Some(p) = self.held.get(&seq) {
            if p.timestamp != timestamp || (seq != next && p.start) {
                // A new frame began without the marker of this one: treat the
                // marker as lost and this frame as incomplete.
                break;
            }
            size += p.payload.len();
            if p.marker {
                end = Some(seq);
                break;
            }
            seq += 1;
        }
        let end = end?;
        let mut data = BytesMut::with_capacity(size.min(MAX_FRAME_BYTES));
        for s in next..=end {
            if let Some(p) = self.held.remove(&s) {
                data.extend_from_slice(&p.payload);
            }
        }
        self.next = Some(end + 1);
        self.started = true;
        if size > MAX_FRAME_BYTES || size == 0 {
            self.lost = true;
            self.need_keyframe = self.codec == Codec::Vp8;
            return None;
        }
        let data = data.freeze();
        let keyframe = match self.codec {
            Codec::Opus => true,
            Codec::Vp8 => is_vp8_keyframe(&data),
        };
        Some(Frame {
            data,
            timestamp,
            keyframe,
        })
    }

    /// When the front cannot make a frame and the window is full (or the front is a
    /// broken frame that later packets show is over), drops up to the next packet that
    /// starts a frame. Returns whether anything was dropped.
    fn skip_hole(&mut self) -> bool {
        let Some(next) = self.next else { return false };
        let (Some(first), Some(last)) = (self.held.keys().next(), self.held.keys().last()) else {
            return false;
        };
        let (first, last) = (*first, *last);
        let span = (last - next) as usize;
        let given_up =
            span >= REORDER_WINDOW || self.front_is_broken(next) || self.later_frame_complete(next);
        if !given_up {
            return false;
        }
        // Drop everything up to the next frame start after the front.
        let restart = self
            .held
            .range(next + 1..)
            .find(|(_, p)| p.start)
            .map(|(s, _)| *s);
        let until = restart.unwrap_or(last + 1);
        let dropped: Vec<u64> = self.held.range(first..until).map(|(s, _)| *s).collect();
        for s in dropped {
            self.held.remove(&s);
        }
        self.next = Some(until);
        self.started = true;
        self.lost = true;
        if self.codec == Codec::Vp8 {
            self.need_keyframe = true;
        }
        true
    }

    /// A frame after the front is complete: the hole before it is a loss (on a LAN a
    /// retransmission comes back well within one frame interval).
    fn later_frame_complete(&self, next: u64) -> bool {
        let mut start: Option<(u64, u32)> = None;
        let mut expected = next + 1;
        for (&seq, p) in self.held.range(next + 1..) {
            if p.start {
                start = Some((seq, p.timestamp));
            } else if start.is_some_and(|(_, ts)| seq != expected || p.timestamp != ts) {
                start = None;
            }
            if p.marker && start.is_some_and(|(_, ts)| ts == p.timestamp) {
                return true;
            }
            expected = seq + 1;
        }
        false
    }

    /// The front frame can never complete: its packets are all here up to a packet of
    /// another frame (a new timestamp or a new start) without a marker, or it does not
    /// begin with a start packet while the next frame's start is already here.
    fn front_is_broken(&self, next: u64) -> bool {
        let Some(front) = self.held.get(&next) else {
            return false;
        };
        if !front.start {
            return self.held.range(next + 1..).any(|(_, p)| p.start);
        }
        let mut seq = next;
        while let Some(p) = self.held.get(&seq) {
            if seq != next && (p.timestamp != front.timestamp || p.start) {
                return true;
            }
            if p.marker {
                return false;
            }
            seq += 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A VP8 RTP payload: the 1-byte descriptor (S bit as given) and the frame bytes.
    fn vp8(start: bool, data: &[u8]) -> Bytes {
        let mut v = vec![if start { 0x10 } else { 0x00 }];
        v.extend_from_slice(data);
        // The depacketizer wants at least 4 bytes of payload.
        while v.len() < 4 {
            v.push(0xaa);
        }
        Bytes::from(v)
    }

    /// Packets of one VP8 frame: `key` sets the frame tag's P bit, `parts` payloads.
    fn frame_packets(seq: u16, ts: u32, key: bool, parts: usize) -> Vec<(u16, u32, bool, Bytes)> {
        (0..parts)
            .map(|i| {
                let tag = if i == 0 {
                    vec![if key { 0x00 } else { 0x01 }, 1, 2]
                } else {
                    vec![9, 9, 9]
                };
                (
                    seq.wrapping_add(i as u16),
                    ts,
                    i + 1 == parts,
                    vp8(i == 0, &tag),
                )
            })
            .collect()
    }

    fn push_all(a: &mut FrameAssembler, packets: &[(u16, u32, bool, Bytes)]) -> Assembled {
        let mut out = Assembled::default();
        for (s, t, m, p) in packets {
            let r = a.push(*s, *t, *m, p.clone());
            out.frames.extend(r.frames);
            out.lost |= r.lost;
        }
        out
    }

    #[test]
    fn keyframe_detection() {
        assert!(is_vp8_keyframe(&[0x00, 1]));
        assert!(!is_vp8_keyframe(&[0x01, 1]));
        assert!(!is_vp8_keyframe(&[]));
    }

    #[test]
    fn frames_in_order_are_whole() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let mut packets = frame_packets(100, 1000, true, 3);
        packets.extend(frame_packets(103, 4000, false, 2));
        let out = push_all(&mut a, &packets);
        assert_eq!(out.frames.len(), 2);
        assert!(out.frames[0].keyframe);
        assert!(!out.frames[1].keyframe);
        assert_eq!(out.frames[0].timestamp, 1000);
        // Descriptors stripped: 3 bytes + padding of the first, 3 + pad of the rest.
        assert_eq!(&out.frames[0].data[..3], &[0x00, 1, 2]);
        assert_eq!(out.frames[0].data.len(), 9);
        assert!(!out.lost);
    }

    #[test]
    fn reordered_packets_are_put_back_in_order() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let mut packets = frame_packets(7, 1, true, 4);
        packets.swap(0, 2);
        packets.swap(1, 3);
        let out = push_all(&mut a, &packets);
        assert_eq!(out.frames.len(), 1);
        assert_eq!(&out.frames[0].data[..3], &[0x00, 1, 2]);
        assert!(!out.lost);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let mut packets = frame_packets(65534, 10, true, 3);
        packets.extend(frame_packets(1, 20, false, 1));
        let out = push_all(&mut a, &packets);
        assert_eq!(out.frames.len(), 2);
        assert!(!out.lost);
    }

    #[test]
    fn video_waits_for_a_keyframe_at_the_start() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let out = push_all(&mut a, &frame_packets(1, 10, false, 2));
        assert!(out.frames.is_empty());
        assert!(out.lost, "a delta without a keyframe asks for one");
        assert!(a.needs_keyframe());
        let out = push_all(&mut a, &frame_packets(3, 20, true, 2));
        assert_eq!(out.frames.len(), 1);
        assert!(out.frames[0].keyframe);
        assert!(!a.needs_keyframe());
    }

    #[test]
    fn a_lost_packet_drops_deltas_until_the_next_keyframe() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let mut packets = frame_packets(1, 10, true, 2);
        let mut delta = frame_packets(3, 20, false, 3);
        delta.remove(1); // lost in the middle
        packets.extend(delta);
        packets.extend(frame_packets(6, 30, false, 2));
        let out = push_all(&mut a, &packets);
        assert_eq!(out.frames.len(), 1, "only the first keyframe");
        assert!(out.lost);
        assert!(a.needs_keyframe());
        let out = push_all(&mut a, &frame_packets(8, 40, true, 2));
        assert_eq!(out.frames.len(), 1);
        assert!(out.frames[0].keyframe);
        let out = push_all(&mut a, &frame_packets(10, 50, false, 1));
        assert_eq!(out.frames.len(), 1, "deltas flow again");
    }

    #[test]
    fn a_lost_marker_is_noticed_at_the_next_frame() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        let mut packets = frame_packets(1, 10, true, 2);
        packets.pop(); // the marker packet of the keyframe is lost
        packets.extend(frame_packets(3, 20, true, 1));
        let out = push_all(&mut a, &packets);
        assert_eq!(out.frames.len(), 1);
        assert_eq!(out.frames[0].timestamp, 20);
        assert!(out.lost);
    }

    #[test]
    fn a_hole_is_given_up_after_the_window() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        push_all(&mut a, &frame_packets(1, 10, true, 1));
        // seq 2 never comes; a long run of single-packet deltas follows, then a key.
        let mut packets = Vec::new();
        for i in 0..REORDER_WINDOW as u16 {
            packets.extend(frame_packets(3 + i, 100 + u32::from(i), false, 1));
        }
        let out = push_all(&mut a, &packets);
        assert!(out.lost);
        assert!(out.frames.is_empty());
        assert!(a.held.len() <= REORDER_WINDOW);
        // A late packet for the hole changes nothing.
        let out = a.push(2, 11, true, vp8(true, &[0x01, 0, 0]));
        assert!(out.frames.is_empty());
    }

    #[test]
    fn memory_is_bounded_whatever_arrives() {
        let mut a = FrameAssembler::new(Codec::Vp8);
        // Starts without markers, forever: held packets stay within the window.
        for i in 0..5000u16 {
            a.push(
                i.wrapping_mul(7),
                u32::from(i),
                false,
                vp8(true, &[0x01, 0, 0]),
            );
            assert!(a.held.len() <= REORDER_WINDOW + 1);
        }
        // Garbage payloads.
        for i in 0..1000u16 {
            a.push(i, 5, i % 3 == 0, Bytes::from_static(&[1]));
            assert!(a.held.len() <= REORDER_WINDOW + 1);
        }
    }

    #[test]
    fn opus_packets_are_frames_and_gaps_are_skipped() {
        let mut a = FrameAssembler::new(Codec::Opus);
        let out = a.push(10, 960, true, Bytes::from_static(&[1, 2]));
        assert_eq!(out.frames.len(), 1);
        assert!(out.frames[0].keyframe);
        // 11 is lost; 12.. arrive: held until the window gives the hole up.
        let mut got = 0;
        for i in 12..(12 + REORDER_WINDOW as u16 + 2) {
            got += a
                .push(i, u32::from(i) * 960, false, Bytes::from_static(&[3]))
                .frames
                .len();
        }
        assert!(got >= REORDER_WINDOW);
        assert!(!a.needs_keyframe());
    }
}
