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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Control messages queued for the page at most.
pub const CONTROL_QUEUE: usize = 4096;
/// Bytes of media queued for the page at most (≈ 1 s of 640x360 video from 7 people).
pub const MEDIA_QUEUE_BYTES: usize = 4 << 20;

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
}

impl OutboxReceiver {
    /// The next message, control first.
    pub(crate) async fn next(&mut self) -> Option<Outgoing> {
        tokio::select! {
            biased;
            c = self.control.recv() => c.map(Outgoing::Text),
            m = self.media.recv() => m.map(|m| {
                self.media_bytes.fetch_sub(m.len(), Ordering::Relaxed);
                self.stats.frames_sent.fetch_add(1, Ordering::Relaxed);
                Outgoing::Media(m)
            }),
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
    (
        Outbox {
            control: ctx,
            media: mtx,
            media_bytes: media_bytes.clone(),
            stats: stats.clone(),
            overflow,
        },
        OutboxReceiver {
            control: crx,
            media: mrx,
            media_bytes,
            stats,
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
}
