//! The page's own media, one encoding per kind, fanned out to every peer that sends it.
//!
//! The page encodes its camera once and its microphone once (WebCodecs in a worker);
//! each frame arrives here once and is offered to every peer connection's sender of
//! that kind — the same bytes (`Bytes` is shared, not copied), packetized per peer
//! (each sender has its own SSRC and sequence numbers). A sender that cannot keep up
//! drops frames and waits for a keyframe; the page is then asked for one. Keyframe
//! requests (a remote's PLI, a sender that dropped, a sender that just started) are
//! coalesced: one `keyframeRequest` event per kind until the page sends a keyframe,
//! repeated at most every [`KEYFRAME_REPEAT`] if none comes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;

use crate::outbox::Outbox;
use crate::wire::{self, Kind, PageFrame};

/// Frames queued per sender at most before it drops and waits for a keyframe.
pub const SENDER_QUEUE: usize = 32;
/// How often an unanswered keyframe request is repeated at most.
pub const KEYFRAME_REPEAT: Duration = Duration::from_millis(500);

/// A sender's subscription: where its frames go and whether it waits for a keyframe.
pub(crate) struct Subscriber {
    pub(crate) tx: mpsc::Sender<Arc<PageFrame>>,
    /// Set when a frame had to be dropped; the sender skips deltas until a keyframe.
    pub(crate) need_keyframe: Arc<AtomicBool>,
}

#[derive(Default)]
struct KindState {
    subscribers: HashMap<u64, Subscriber>,
    /// A keyframe was asked of the page and has not come yet: when.
    keyframe_asked: Option<Instant>,
}

/// The page's sources, shared by the session and every peer's senders.
pub(crate) struct Sources {
    kinds: Mutex<HashMap<Kind, KindState>>,
    next_id: AtomicU64,
    outbox: Outbox,
    /// Frames offered to a sender that had no room (counted for stats and tests).
    pub(crate) sender_drops: AtomicU64,
}

impl Sources {
    pub(crate) fn new(outbox: Outbox) -> Arc<Sources> {
        Arc::new(Sources {
            kinds: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            outbox,
            sender_drops: AtomicU64::new(0),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<Kind, KindState>) -> R) -> R {
        // A poisoned lock means a panic elsewhere while holding it; the map itself
        // is still consistent (every update is one insert or remove).
        let mut guard = match self.kinds.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Registers a sender of `kind`; returns its id (to unsubscribe) and its queue.
    pub(crate) fn subscribe(
        &self,
        kind: Kind,
    ) -> (u64, mpsc::Receiver<Arc<PageFrame>>, Arc<AtomicBool>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SENDER_QUEUE);
        let need_keyframe = Arc::new(AtomicBool::new(true));
        self.with(|k| {
            k.entry(kind).or_default().subscribers.insert(
                id,
                Subscriber {
                    tx,
                    need_keyframe: need_keyframe.clone(),
                },
            )
        });
        // A new sender starts with a keyframe.
        self.want_keyframe(kind, None);
        (id, rx, need_keyframe)
    }

    /// Removes a sender.
    pub(crate) fn unsubscribe(&self, kind: Kind, id: u64) {
        self.with(|k| {
            if let Some(state) = k.get_mut(&kind) {
                state.subscribers.remove(&id);
            }
        });
    }

    /// Offers one page frame to every sender of its kind.
    pub(crate) fn publish(&self, frame: PageFrame) {
        let kind = frame.kind;
        let keyframe = frame.keyframe;
        let frame = Arc::new(frame);
        let mut dropped = false;
        self.with(|k| {
            let state = k.entry(kind).or_default();
            if keyframe {
                state.keyframe_asked = None;
            }
            state
                .subscribers
                .retain(|_, s| match s.tx.try_send(frame.clone()) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        s.need_keyframe.store(true, Ordering::Relaxed);
                        dropped = true;
                        true
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                });
        });
        if dropped {
            self.sender_drops.fetch_add(1, Ordering::Relaxed);
            if kind == Kind::Video {
                self.want_keyframe(kind, None);
            }
        }
    }

    /// Asks the page for a keyframe of `kind` (coalesced; see module docs). `pc` is
    /// the connection whose remote asked, if one did.
    pub(crate) fn want_keyframe(&self, kind: Kind, pc: Option<u32>) {
        if kind != Kind::Video {
            return;
        }
        let now = Instant::now();
        let ask = self.with(|k| {
            let state = k.entry(kind).or_default();
            let due = state
                .keyframe_asked
                .is_none_or(|t| now.duration_since(t) >= KEYFRAME_REPEAT);
            if due {
                state.keyframe_asked = Some(now);
            }
            due
        });
        if ask {
            self.outbox.text(wire::event(
                "keyframeRequest",
                json!({"kind": kind.as_str(), "pc": pc}),
            ));
        }
    }
}
