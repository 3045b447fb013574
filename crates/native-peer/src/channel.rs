//! The `lanmeet` data channel every pair shares (docs/PROTOCOL.md), and a workaround
//! that gets it open promptly.

use std::time::Duration;

use webrtc::data_channel::DataChannel;

/// The label of the one data channel of every pair.
pub const CHANNEL_LABEL: &str = "lanmeet";

/// How often a client calls [`nudge`] between `connected` and the channel opening.
pub const NUDGE_EVERY: Duration = Duration::from_millis(5);
/// How long after `connected` a client keeps nudging at most.
pub const NUDGE_FOR: Duration = Duration::from_secs(3);

/// Works around a stall in webrtc 0.21.1's driver: packets the SCTP layer queues while
/// handling an *event* (the client INIT right after the DTLS handshake, the DCEP open
/// right after the association is up) are flushed only on the driver's next wake-up,
/// which can be a protocol timer ~200 ms away; measured, the channel opened ~400 ms
/// after `connected`. Any data-channel setter wakes the driver's write path, so between
/// `connected` and the channel opening a client calls this every few ms: it sets a
/// value to what it already is.
pub async fn nudge(dc: &dyn DataChannel) {
    let _ = dc.set_buffered_amount_high_threshold(u32::MAX).await;
}
