//! Everything the bridge sends its page goes through one [`Outbox`], drained by one
//! writer task, with bounds that keep a page that stops reading from growing memory.
//!
//! - **Control** (responses, events, data-channel messages) is small and must not be
//!   lost: it has a queue of [`CONTROL_QUEUE`] messages. A page that lets that fill is
//!   not reading at all; the session is ended (close code 1008) rather than queueing on.
//! - **Media** is what a slow page can drop: frames go in only while fewer than
//!   [`MEDIA_QUEUE_BYTES`] of media wait. A frame that does not fit is dropped and the
//!   caller told, so it can ask the sender for a keyframe and skip deltas until one
//!   comes (a decoder cannot use deltas after a gap).
//! - **Flow window.** Once the page acknowledges what it has read (an `0x03` ack,
//!   docs/BRIDGE.md), at most [`FLOW_WINDOW_FRAMES`] frames / [`FLOW_WINDOW_BYTES`]
//!   bytes of media are written and not yet acknowledged. Without it a starved page
//!   (a busy main thread) had megabytes of media in the socket buffers ahead of a
//!   control reply, and answered an offer tens of seconds late; with it a reply waits
//!   behind a bounded amount of media, and what the page cannot read is dropped here
//!   (and a keyframe asked for) instead. A page that never acknowledges gets no window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// Control messages queued for the page at most.
pub const CONTROL_QUEUE: usize = 4096;
/// Bytes of media queued for the page at most (≈ 1 s of 640x360 video from 7 people).
pub const MEDIA_QUEUE_BYTES: usize = 1 << 20;
/// Media frames written to the page and not yet acknowledged, at most (once it acks):
/// about 0.6 s of a call of eight (7 × 50 Opus + 7 × 10 video frames a second).
pub const FLOW_WINDOW_FRAMES: u32 = 256;
/// Media bytes written to the page and not yet acknowledged, at most (once it acks).
pub const FLOW_WINDOW_BYTES: u64 = 1 << 20;

/// What the page says it has read, shared by the reader (which parses acks) and the
/// writer (which waits for the window to open).
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Set by the first ack: a page that never acks is never held back.
    enabled: AtomicBool,
    /// Media frames the page has read (wrapping).
    acked_frames: AtomicU32,
    /// Media bytes the page has read.
    acked_bytes: AtomicU64,
    notify: Notify,
}

impl Flow {
    /// The page read `frames` media frames and `bytes` bytes in all (counted from the
    /// start of the session). Acks that go backwards are ignored; one that claims more
    /// than was sent only opens the window (as if the page did not ack).
    pub(crate) fn ack(&self, frames: u32, bytes: u64) {
        self.enabled.store(true, Ordering::Relaxed);
        self.acked_frames.store(frames, Ordering::Relaxed);
        self.acked_bytes.fetch_max(bytes, Ordering::Relaxed);
        self.notify.notify_one();
    }

    /// Whether `sent_frames`/`sent_bytes` written leave room for more media.
    fn open(&self, sent_frames: u32, sent_bytes: u64) -> bool {
        if !self.enabled.load(Ordering::Relaxed) {
            return true;
        }
        let frames = sent_frames.wrapping_sub(self.acked_frames.load(Ordering::Relaxed));
        let bytes = sent_bytes.saturating_sub(self.acked_bytes.load(Ordering::Relaxed));
        // A wrapped difference above the window's size means the ack ran ahead.
        !(FLOW_WINDOW_FRAMES..=u32::MAX / 2).contains(&frames) && bytes < FLOW_WINDOW_BYTES
    }
}

/// One message for the page.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    Media(Bytes),
}

/// The sending side, cloned into every task that talks to the page.
#[derive(Clone)]
pub(crate) struct Outbox {
    control: mpsc::Sender<String>,
    media: mpsc::UnboundedSender<Bytes>,
    media_bytes: Arc<AtomicUsize>,
    stats: Arc<OutboxStats>,
    /// Cancelled when the page stopped reading control messages.
    overflow: CancellationToken,
    flow: Arc<Flow>,
}

/// Counters for tests and `getStats`.
#[derive(Debug, Default)]
pub(crate) struct OutboxStats {
    /// Media frames sent to the page.
    pub(crate) frames_sent: AtomicU64,
    /// Media frames dropped because the page did not keep up.
    pub(crate) frames_dropped: AtomicU64,
    /// Highest media backlog seen, in bytes.
    pub(crate) max_media_backlog: AtomicUsize,
}

/// The writer's side.
pub(crate) struct OutboxReceiver {
    pub(crate) control: mpsc::Receiver<String>,
    pub(crate) media: mpsc::UnboundedReceiver<Bytes>,
    pub(crate) media_bytes: Arc<AtomicUsize>,
    pub(crate) stats: Arc<OutboxStats>,
    flow: Arc<Flow>,
    sent_frames: u32,
    sent_bytes: u64,
}

impl OutboxReceiver {
    /// The next message: control first, media while the flow window is open.
    pub(crate) async fn next(&mut self) -> Option<Outgoing> {
        loop {
            let open = self.flow.open(self.sent_frames, self.sent_bytes);
            tokio::select! {
                biased;
                c = self.control.recv() => return c.map(Outgoing::Text),
                m = self.media.recv(), if open => return m.map(|m| {
                    self.media_bytes.fetch_sub(m.len(), Ordering::Relaxed);
                    self.stats.frames_sent.fetch_add(1, Ordering::Relaxed);
                    self.sent_frames = self.sent_frames.wrapping_add(1);
                    self.sent_bytes += m.len() as u64;
                    Outgoing::Media(m)
                }),
                () = self.flow.notify.notified(), if !open => {}
            }
        }
    }
}

/// An outbox and its receiver.
pub(crate) fn outbox(overflow: CancellationToken) -> (Outbox, OutboxReceiver) {
    let (ctx, crx) = mpsc::channel(CONTROL_QUEUE);
    // Unbounded channel, bounded by the byte budget checked before every send.
    let (mtx, mrx) = mpsc::unbounded_channel();
    let media_bytes = Arc::new(AtomicUsize::new(0));
    let stats = Arc::new(OutboxStats::default());
    let flow = Arc::new(Flow::default());
    (
        Outbox {
            control: ctx,
            media: mtx,
            media_bytes: media_bytes.clone(),
            stats: stats.clone(),
            overflow,
            flow: flow.clone(),
        },
        OutboxReceiver {
            control: crx,
            media: mrx,
            media_bytes,
            stats,
            flow,
            sent_frames: 0,
            sent_bytes: 0,
        },
    )
}

impl Outbox {
    /// Queues a control message; a full queue ends the session (see module docs).
    pub(crate) fn text(&self, msg: String) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.control.try_send(msg) {
            self.overflow.cancel();
        }
    }

    /// Queues a media frame if the budget allows; returns false if it was dropped.
    pub(crate) fn media(&self, frame: Bytes) -> bool {
        let len = frame.len();
        let queued = self.media_bytes.fetch_add(len, Ordering::Relaxed) + len;
        if queued > MEDIA_QUEUE_BYTES {
            self.media_bytes.fetch_sub(len, Ordering::Relaxed);
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.stats
            .max_media_backlog
            .fetch_max(queued, Ordering::Relaxed);
        if self.media.send(frame).is_err() {
            self.media_bytes.fetch_sub(len, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// The page's acks go here.
    pub(crate) fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The counters.
    pub(crate) fn stats(&self) -> &Arc<OutboxStats> {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn media_beyond_the_budget_is_dropped_and_control_comes_first() {
        let token = CancellationToken::new();
        let (out, mut rx) = outbox(token.clone());
        let frame = Bytes::from(vec![0u8; 64 * 1024]);
        let mut accepted = 0;
        for _ in 0..1000 {
            if out.media(frame.clone()) {
                accepted += 1;
            }
        }
        assert_eq!(accepted, MEDIA_QUEUE_BYTES / frame.len());
        assert_eq!(
            out.stats().frames_dropped.load(Ordering::Relaxed),
            1000 - accepted as u64
        );
        out.text("hello".into());
        assert!(matches!(rx.next().await, Some(Outgoing::Text(t)) if t == "hello"));
        assert!(matches!(rx.next().await, Some(Outgoing::Media(_))));
        // Room again once the writer took a frame.
        assert!(out.media(frame));
        assert!(!token.is_cancelled());
    }

    #[tokio::test]
    async fn a_page_that_reads_no_control_ends_the_session() {
        let token = CancellationToken::new();
        let (out, _rx) = outbox(token.clone());
        for i in 0..CONTROL_QUEUE {
            out.text(format!("{i}"));
        }
        assert!(!token.is_cancelled());
        out.text("one too many".into());
        assert!(token.is_cancelled());
    }

    #[tokio::test]
    async fn once_the_page_acks_media_waits_for_the_window_and_control_does_not() {
        use futures_util::FutureExt as _;
        let (out, mut rx) = outbox(CancellationToken::new());
        let frame = Bytes::from(vec![0u8; 100]);
        for _ in 0..FLOW_WINDOW_FRAMES + 20 {
            assert!(out.media(frame.clone()));
        }
        // No ack yet: a page that never acks is never held back.
        for _ in 0..10 {
            assert!(matches!(rx.next().await, Some(Outgoing::Media(_))));
        }
        // The page says it read nothing: 10 are out, the window allows the rest of it.
        out.flow().ack(0, 0);
        for _ in 10..FLOW_WINDOW_FRAMES {
            assert!(matches!(rx.next().await, Some(Outgoing::Media(_))));
        }
        assert!(rx.next().now_or_never().is_none(), "the window is full");
        // Control still goes out while media waits.
        out.text("answer".into());
        assert!(matches!(rx.next().await, Some(Outgoing::Text(t)) if t == "answer"));
        assert!(rx.next().now_or_never().is_none());
        // An old ack (going backwards in bytes) opens nothing.
        out.flow().ack(0, 0);
        assert!(rx.next().now_or_never().is_none());
        // The page read 100 frames: 100 more may go.
        out.flow().ack(100, 100 * 100);
        for _ in 0..20 {
            assert!(matches!(rx.next().await, Some(Outgoing::Media(_))));
        }
        // The byte window holds too: two big frames fill it.
        let big = Bytes::from(vec![0u8; FLOW_WINDOW_BYTES as usize * 3 / 5]);
        out.flow().ack(
            FLOW_WINDOW_FRAMES + 20,
            (FLOW_WINDOW_FRAMES as u64 + 20) * 100,
        );
        for _ in 0..2 {
            assert!(out.media(big.clone()));
            assert!(matches!(rx.next().await, Some(Outgoing::Media(b)) if b.len() == big.len()));
        }
        assert!(out.media(frame.clone()));
        assert!(rx.next().now_or_never().is_none(), "a full window of bytes");
    }
}
