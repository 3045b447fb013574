//! The media a link receives: one task per inbound track counts its RTP packets.

use std::sync::Arc;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::state::{SnapshotStore, TrackStats};

/// Counts the RTP packets of one inbound track.
pub(super) async fn read_track(
    track: Arc<dyn TrackRemote>,
    store: Arc<SnapshotStore>,
    peer_id: String,
    generation: u64,
) {
    let kind = track.kind().await.to_string();
    let track_id = track.track_id().await;
    let index = store.update_link(&peer_id, generation, |l| {
        l.tracks.push(TrackStats {
            kind,
            track_id,
            packets: 0,
            bytes: 0,
        });
        l.tracks.len() - 1
    });
    let Some(index) = index else { return };
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnRtpPacket(packet) => {
                let len = packet.payload.len() as u64;
                store.update_link(&peer_id, generation, |l| {
                    if let Some(t) = l.tracks.get_mut(index) {
                        t.packets += 1;
                        t.bytes += len;
                    }
                });
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}
