//! The `lanmeet` data channel of a link: created by the newcomer (with the recvonly
//! media it asks for), read by a task of its own, pinged for round trips, and nudged
//! open (see [`LinkTask::nudge`]).

use std::sync::Arc;
use std::time::Instant;

use tracing::debug;
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use lanmeet_native_peer::channel::{CHANNEL_LABEL, nudge};

use super::{LinkTask, PING_EXPIRY};
use crate::media::ClipKind;
use crate::protocol::ChannelMessage;
use crate::state::{ChatMessage, SnapshotStore};

impl LinkTask {
    /// The newcomer's side: create the `lanmeet` channel (and, if asked, recvonly media
    /// transceivers) before the first offer, so the offer carries them.
    pub(super) async fn open_channel(&mut self) {
        let init = RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        };
        match self.pc.create_data_channel(CHANNEL_LABEL, Some(init)).await {
            Ok(dc) => self.attach_channel(dc),
            Err(e) => self.record_error("create data channel", e),
        }
        self.start_sending().await;
        if self.ctx.config.recv_media {
            let sends = |kind: ClipKind| {
                self.ctx
                    .config
                    .send_media
                    .as_ref()
                    .is_some_and(|m| m.sources.iter().any(|s| s.kind == kind))
            };
            // A kind the probe sends already has a (sendrecv) transceiver.
            let wanted = [
                (
                    rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
                    ClipKind::Audio,
                ),
                (
                    rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Video,
                    ClipKind::Video,
                ),
            ]
            .into_iter()
            .filter(|&(_, clip)| !sends(clip))
            .map(|(kind, _)| kind)
            .collect::<Vec<_>>();
            for kind in wanted {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                if let Err(e) = self.pc.add_transceiver_from_kind(kind, Some(init)).await {
                    self.record_error("add recvonly transceiver", e);
                }
            }
        }
    }

    pub(super) fn attach_channel(&mut self, dc: Arc<dyn DataChannel>) {
        self.channel = Some(dc.clone());
        let reader = tokio::spawn(read_channel(
            dc,
            self.ctx.store.clone(),
            self.ctx.peer_id.clone(),
            self.ctx.generation,
        ));
        self.readers.push(reader);
    }

    /// Between `connected` and the channel opening, wakes the driver every few ms
    /// (see [`lanmeet_native_peer::channel::nudge`]: webrtc 0.21.1 otherwise flushes
    /// the SCTP handshake only on a protocol timer, ~400 ms late).
    pub(super) async fn nudge(&mut self) {
        let open = self
            .ctx
            .store
            .read_link(&self.ctx.peer_id, self.ctx.generation, |l| l.channel_open)
            .unwrap_or(true);
        let expired = self.nudge_until.is_none_or(|t| Instant::now() >= t);
        if open || expired {
            self.nudge_until = None;
            return;
        }
        if let Some(dc) = &self.channel {
            nudge(dc.as_ref()).await;
        }
    }

    pub(super) async fn ping(&mut self) {
        let Some(dc) = self.channel.clone() else {
            return;
        };
        let open = self
            .ctx
            .store
            .read_link(&self.ctx.peer_id, self.ctx.generation, |l| l.channel_open)
            .unwrap_or(false);
        if !open {
            return;
        }
        let id = self.next_ping;
        self.next_ping += 1;
        let now = Instant::now();
        self.ctx
            .store
            .update_link(&self.ctx.peer_id, self.ctx.generation, |l| {
                l.pending_pings
                    .retain(|_, sent| now.duration_since(*sent) < PING_EXPIRY);
                l.pending_pings.insert(id, now);
                l.pings_sent += 1;
            });
        if let Err(e) = dc.send_text(&ChannelMessage::ping(id)).await {
            self.record_error("ping", e);
        }
    }
}

/// Reads the `lanmeet` channel: marks it open, answers pings at once, matches pongs
/// to our pings, keeps chat and state messages.
async fn read_channel(
    dc: Arc<dyn DataChannel>,
    store: Arc<SnapshotStore>,
    peer_id: String,
    generation: u64,
) {
    while let Some(event) = dc.poll().await {
        match event {
            DataChannelEvent::OnOpen => {
                debug!(peer = %peer_id, "channel open");
                let now = Instant::now();
                store.update_link(&peer_id, generation, |l| {
                    l.channel_open = true;
                    if l.opened_at.is_none() {
                        l.opened_at = Some(now);
                        l.connect_ms = Some(now.duration_since(l.created_at).as_secs_f64() * 1e3);
                    }
                });
            }
            DataChannelEvent::OnMessage(msg) => {
                let received = Instant::now();
                let text = String::from_utf8_lossy(&msg.data);
                let parsed = ChannelMessage::parse(&text);
                if let ChannelMessage::Ping(id) = &parsed {
                    if let Err(e) = dc.send_text(&ChannelMessage::pong(id)).await {
                        debug!(peer = %peer_id, "pong: {e}");
                    }
                }
                store.update_link(&peer_id, generation, |l| {
                    l.messages_received += 1;
                    match parsed {
                        ChannelMessage::Ping(_) => l.pings_answered += 1,
                        ChannelMessage::Pong(Some(id)) => {
                            if let Some(sent) = l.pending_pings.remove(&id) {
                                l.pongs_received += 1;
                                l.push_rtt(received.duration_since(sent));
                            }
                        }
                        ChannelMessage::Chat { text, ts } => l.push_chat(ChatMessage { text, ts }),
                        ChannelMessage::State(v) => l.remote_state = Some(v),
                        ChannelMessage::Pong(None) | ChannelMessage::Other => {}
                    }
                });
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
    store.update_link(&peer_id, generation, |l| l.channel_open = false);
}
