//! The media a link sends: one track per playing clip of the probe
//! ([`MediaSources`](crate::media::MediaSources)), each written by a task of its own.
//!
//! The tracks are added where a browser running the UI adds its own: the newcomer
//! before its first offer (so the offer carries them), the other side when it answers
//! the first offer (so the offer's transceivers are reused and the answer sends, with
//! no renegotiation).

use std::sync::Arc;
use std::time::Instant;

use rtc::media::Sample;
use tokio::sync::broadcast::error::RecvError;
use tracing::debug;
use webrtc::media_stream::Track;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::rtp_transceiver::RtpSender;

use lanmeet_native_peer::is_keyframe_request;
use lanmeet_native_peer::media::{Codec, negotiated_payload_type, outbound_track};

use super::LinkTask;
use crate::media::ClipKind;

impl LinkTask {
    /// Adds a track per playing clip and starts writing them, once per link.
    pub(super) async fn start_sending(&mut self) {
        if self.sending_started {
            return;
        }
        self.sending_started = true;
        let Some(media) = self.ctx.config.send_media.clone() else {
            return;
        };
        for index in 0..media.sources.len() {
            let source = &media.sources[index];
            let track = match local_track(source.kind, &media.stream_id) {
                Ok(track) => Arc::new(track),
                Err(e) => {
                    self.record_error("local track", e);
                    continue;
                }
            };
            let sender = match self.pc.add_track(track.clone()).await {
                Ok(sender) => sender,
                Err(e) => {
                    self.record_error("add track", e);
                    continue;
                }
            };
            self.senders
                .spawn(write_track(media.clone(), index, track, sender));
        }
    }
}

/// A track of `kind` with its own SSRC, VP8 or Opus only (the codecs the clips hold).
fn local_track(kind: ClipKind, stream_id: &str) -> webrtc::error::Result<TrackLocalStaticSample> {
    TrackLocalStaticSample::new(Instant::now(), outbound_track(codec_of(kind), stream_id))
}

/// The codec a clip of `kind` holds.
fn codec_of(kind: ClipKind) -> Codec {
    match kind {
        ClipKind::Video => Codec::Vp8,
        ClipKind::Audio => Codec::Opus,
    }
}

/// Writes the source's frames to the track, from a keyframe on; asks the source for a
/// keyframe when the remote does (PLI, FIR) and after frames were lost. Ends when the
/// link aborts it (its shutdown).
async fn write_track(
    media: Arc<crate::media::MediaSources>,
    index: usize,
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
) {
    let Some(source) = media.sources.get(index) else {
        return;
    };
    let mut frames = source.subscribe();
    let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    let mut payload_type = None;
    let mut need_keyframe = true;
    let mut polling = true;
    // The pacing tick of the last frame written: frames skipped since then (a lag, a
    // wait for a keyframe) move the RTP clock and sequence on, as lost packets.
    let mut last_tick: Option<u64> = None;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if payload_type.is_none() {
                        payload_type = negotiated_payload_type(sender.as_ref(), codec_of(source.kind)).await;
                    }
                    // Not negotiated yet: nothing can be written.
                    let Some(pt) = payload_type else {
                        need_keyframe = true;
                        continue;
                    };
                    // A delta we cannot start from: the source skips to a keyframe at its
                    // next tick (rather than this link waiting for the clip's own).
                    if need_keyframe && !frame.keyframe {
                        source.want_keyframe();
                        continue;
                    }
                    need_keyframe = false;
                    let skipped = last_tick.map_or(0, |t| frame.tick.saturating_sub(t + 1));
                    last_tick = Some(frame.tick);
                    let sample = Sample {
                        data: frame.data,
                        duration: frame.duration,
                        prev_dropped_packets: u16::try_from(skipped).unwrap_or(u16::MAX),
                        ..Sample::new(Instant::now())
                    };
                    if let Err(e) = track.sample_writer(ssrc, pt).write_sample(&sample).await {
                        debug!("write a {:?} frame: {e}", source.kind);
                        // Renegotiated (a new payload type) or closing: look again.
                        payload_type = None;
                        need_keyframe = true;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    need_keyframe = true;
                    source.want_keyframe();
                }
                Err(RecvError::Closed) => break,
            },
            event = track.poll(), if polling => match event {
                Some(TrackLocalEvent::OnRtcpPacket(packets)) => {
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        source.want_keyframe();
                    }
                }
                Some(_) => {}
                None => polling = false,
            },
        }
    }
}
