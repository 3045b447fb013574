//! The media a link receives: one task per inbound track counts its RTP packets and,
//! reassembled, its whole frames (what a decoder would get).

use std::sync::Arc;

use lanmeet_native_peer::media::{Codec, FrameAssembler};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::state::{SnapshotStore, TrackStats};

/// Counts the RTP packets and frames of one inbound track.
pub(super) async fn read_track(
    track: Arc<dyn TrackRemote>,
    store: Arc<SnapshotStore>,
    peer_id: String,
    generation: u64,
) {
    let kind = track.kind().await.to_string();
    let track_id = track.track_id().await;
    let video = kind == "video";
    let mut assembler = FrameAssembler::new(if video { Codec::Vp8 } else { Codec::Opus });
    let index = store.update_link(&peer_id, generation, |l| {
        l.tracks.push(TrackStats {
            kind,
            track_id,
            packets: 0,
            bytes: 0,
            frames: 0,
            keyframes: 0,
        });
        l.tracks.len() - 1
    });
    let Some(index) = index else { return };
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let len = packet.payload.len() as u64;
                let h = &packet.header;
                let assembled =
                    assembler.push(h.sequence_number, h.timestamp, h.marker, packet.payload);
                let frames = assembled.frames.len() as u64;
                let keyframes = assembled
                    .frames
                    .iter()
                    .filter(|f| video && f.keyframe)
                    .count() as u64;
                store.update_link(&peer_id, generation, |l| {
                    if let Some(t) = l.tracks.get_mut(index) {
                        t.packets += 1;
                        t.bytes += len;
                        t.frames += frames;
                        t.keyframes += keyframes;
                    }
                });
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}
