//! The async shell around [`Rooms`]: a cheap-to-clone handle shared by every
//! socket task and the control API.
//!
//! The state sits behind a **std** `Mutex`, locked once per operation and never
//! across an `.await`: every effect leaves through non-blocking `try_send`s into
//! bounded per-socket queues *while the lock is held*, which is what keeps
//! per-connection order (a resumed `welcome` always precedes signals queued after
//! it). A queue that is full marks its socket a slow consumer; the socket's own
//! task then closes it. Nothing here waits on a client.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rand::Rng;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::codes::RoomCode;
use crate::ice::{IceSource, MemberCheck};
use crate::protocol::Frame;
use crate::rooms::{
    CreateError, Fresh, Join, JoinError, Joined, Outbox, RoomSettings, RoomStats, RoomSummary,
    Rooms, Routed, SignalError,
};

/// What a socket's writer sends.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(Frame),
    Ping,
    Close(u16, &'static str),
}

/// The registry's handle on one socket: its outgoing queue and its kill switch.
/// The room rules know it as the member's link (`Rooms<SocketQueue>`).
#[derive(Clone, Debug)]
pub(crate) struct SocketQueue {
    id: u64,
    tx: mpsc::Sender<Outbound>,
    /// Bytes of text frames queued and not yet written.
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
    /// Cancelled when the socket cannot keep up (`slow-consumer`); the socket's
    /// task awaits it.
    pub(crate) slow: CancellationToken,
    /// The same fact as a plain flag: checked on every push, where the token's
    /// own check (a mutex) showed up in profiles.
    slow_flag: Arc<AtomicBool>,
}

impl PartialEq for SocketQueue {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

static NEXT_QUEUE: AtomicU64 = AtomicU64::new(1);

impl SocketQueue {
    pub(crate) fn new(
        queue: usize,
        max_bytes: usize,
    ) -> (SocketQueue, mpsc::Receiver<Outbound>, Arc<AtomicUsize>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let queued = Arc::new(AtomicUsize::new(0));
        let link = SocketQueue {
            id: NEXT_QUEUE.fetch_add(1, Ordering::Relaxed),
            tx,
            queued: queued.clone(),
            max_bytes,
            slow: CancellationToken::new(),
            slow_flag: Arc::new(AtomicBool::new(false)),
        };
        (link, rx, queued)
    }

    pub(crate) fn is_slow(&self) -> bool {
        self.slow_flag.load(Ordering::Relaxed)
    }

    fn mark_slow(&self) {
        self.slow_flag.store(true, Ordering::Relaxed);
        self.slow.cancel();
    }

    /// Queues without waiting; a full queue makes the socket a slow consumer.
    pub(crate) fn push(&self, out: Outbound) {
        if self.is_slow() {
            return;
        }
        let len = match &out {
            Outbound::Text(frame) => frame.as_str().len(),
            _ => 0,
        };
        // Count before sending: the writer subtracts after receiving, so the
        // counter never dips below what is really queued.
        let before = self.queued.fetch_add(len, Ordering::Relaxed);
        if len > 0 && before.saturating_add(len) > self.max_bytes {
            self.queued.fetch_sub(len, Ordering::Relaxed);
            self.mark_slow();
            return;
        }
        match self.tx.try_send(out) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
                self.mark_slow();
            }
            // The socket task is gone; it already left the registry or is about to.
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
            }
        }
    }
}

struct Queues;

impl Outbox<SocketQueue> for Queues {
    fn send(&mut self, link: &SocketQueue, frame: Frame) {
        link.push(Outbound::Text(frame));
    }
    fn close(&mut self, link: &SocketQueue, status: u16, reason: &'static str) {
        link.push(Outbound::Close(status, reason));
    }
}

struct Inner {
    rooms: Mutex<Rooms<SocketQueue>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    /// Every room's summary, republished (under the lock, so in order) whenever
    /// a room opens, closes or its head count changes: what discovery
    /// advertises. Kept current only while someone watches, since listing costs
    /// O(rooms) and with discovery off nobody does.
    listing: watch::Sender<Vec<RoomSummary>>,
}

/// Shared handle on the rooms of this node.
#[derive(Clone)]
pub(crate) struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    pub(crate) fn new(
        rooms: Rooms<SocketQueue>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Registry {
        let (listing, _) = watch::channel(Vec::new());
        Registry {
            inner: Arc::new(Inner {
                rooms: Mutex::new(rooms),
                tasks,
                shutdown,
                listing,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rooms<SocketQueue>> {
        // A panic while holding the lock would be a bug in `rooms`; the state is
        // still consistent enough to keep serving everybody else.
        self.inner
            .rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes the rooms after a change; called with the lock held.
    fn changed(&self, rooms: &Rooms<SocketQueue>) {
        if self.inner.listing.receiver_count() > 0 {
            self.inner.listing.send_replace(rooms.list());
        }
    }

    /// Every room's summary now, and again whenever rooms open, close or change
    /// head count.
    pub(crate) fn watch_rooms(&self) -> watch::Receiver<Vec<RoomSummary>> {
        let rooms = self.lock();
        self.inner.listing.send_replace(rooms.list());
        self.inner.listing.subscribe()
    }

    /// Opens a room under a fresh random code.
    pub(crate) fn create_room(&self, settings: RoomSettings) -> Result<RoomSummary, CreateError> {
        let mut rng = rand::rng();
        let mut rooms = self.lock();
        let mut attempt = 0;
        let summary = loop {
            match rooms.create(RoomCode::random(&mut rng), settings.clone()) {
                Err(CreateError::CodeTaken) if attempt < 32 => attempt += 1,
                other => break other?,
            }
        };
        self.changed(&rooms);
        Ok(summary)
    }

    /// Closes a room; its members get `room-closed`.
    pub(crate) fn close_room(&self, code: RoomCode) -> bool {
        let mut rooms = self.lock();
        let closed = rooms.close_room(code, &mut Queues);
        if closed {
            self.changed(&rooms);
        }
        closed
    }

    /// Closes every room (node shutdown).
    pub(crate) fn close_all(&self) {
        let mut rooms = self.lock();
        rooms.close_all(&mut Queues);
        self.changed(&rooms);
    }

    /// Sets the ICE servers every later `welcome` carries.
    pub(crate) fn set_ice(&self, ice: IceSource) {
        self.lock().set_ice(ice);
    }

    /// A membership check that holds the rooms weakly (for [`Members`]).
    pub(crate) fn member_check(&self) -> MemberCheck {
        let inner = Arc::downgrade(&self.inner);
        Arc::new(move |id: &str| {
            inner
                .upgrade()
                .is_some_and(|inner| Registry { inner }.lock().is_member(id))
        })
    }

    pub(crate) fn list(&self) -> Vec<RoomSummary> {
        self.lock().list()
    }

    pub(crate) fn contains(&self, code: RoomCode) -> bool {
        self.lock().contains(code)
    }

    pub(crate) fn stats(&self) -> RoomStats {
        self.lock().stats()
    }

    pub(crate) fn join(&self, link: &SocketQueue, join: Join<'_>) -> Result<Joined, JoinError> {
        let fresh = Fresh {
            id: random_id(12),
            token: random_id(18),
        };
        let mut rooms = self.lock();
        let joined = rooms.join(link, join, fresh, &mut Queues)?;
        if !joined.resumed {
            self.changed(&rooms);
        }
        Ok(joined)
    }

    /// A resume and nothing else (see [`Rooms::resume`]).
    pub(crate) fn resume(&self, link: &SocketQueue, join: Join<'_>) -> Option<Joined> {
        let fresh = Fresh {
            id: random_id(12),
            token: random_id(18),
        };
        self.lock().resume(link, join, fresh, &mut Queues)
    }

    pub(crate) fn signal(
        &self,
        from: &str,
        link: &SocketQueue,
        to: &str,
        frame: Frame,
    ) -> Result<Routed, SignalError> {
        self.lock().signal(from, link, to, frame, &mut Queues)
    }

    pub(crate) fn leave(&self, id: &str, link: &SocketQueue) {
        let mut rooms = self.lock();
        if rooms.leave(id, link, &mut Queues) {
            self.changed(&rooms);
        }
    }

    /// The socket of `id` ended without `leave`: hold the id and end the hold when
    /// the grace period runs out (unless resumed first).
    pub(crate) fn disconnect(&self, id: &str, link: &SocketQueue) {
        let now = now();
        let Some(deadline) = self.lock().disconnect(id, link, now) else {
            return;
        };
        let registry = self.clone();
        let shutdown = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            let wait = deadline.saturating_duration_since(now);
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    let mut rooms = registry.lock();
                    if rooms.expire(self::now(), &mut Queues) > 0 {
                        registry.changed(&rooms);
                    }
                }
                () = shutdown.cancelled() => {}
            }
        });
    }
}

/// The current time on tokio's clock, so tests can pause and advance it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// `bytes` random bytes as URL-safe base64 without padding (ids and tokens).
pub(crate) fn random_id(bytes: usize) -> String {
    const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    // Each character carries 6 bits: 12 bytes → 16 characters (96 bits).
    (0..bytes * 4 / 3)
        .map(|_| URL_SAFE[rng.random_range(0..64)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_url_safe_and_long_enough() {
        let id = random_id(12);
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(random_id(12), id);
    }

    #[tokio::test]
    async fn a_full_queue_marks_a_slow_consumer() {
        let (link, mut rx, queued) = SocketQueue::new(2, 1 << 20);
        link.push(Outbound::Text("a".into()));
        link.push(Outbound::Text("bb".into()));
        assert!(!link.is_slow() && !link.slow.is_cancelled());
        assert_eq!(queued.load(Ordering::Relaxed), 3);
        link.push(Outbound::Text("c".into()));
        assert!(link.is_slow() && link.slow.is_cancelled());
        assert!(matches!(rx.recv().await, Some(Outbound::Text(f)) if f.as_str() == "a"));
    }

    #[tokio::test]
    async fn watchers_see_every_room_change() {
        let registry = Registry::new(
            Rooms::new(crate::rooms::RoomsConfig::from(
                &crate::config::Limits::default(),
            )),
            TaskTracker::new(),
            CancellationToken::new(),
        );
        let settings = |listed| RoomSettings {
            name: String::new(),
            listed,
            capacity: 8,
            passcode: None,
        };
        let early = registry.create_room(settings(true)).unwrap();
        let mut rooms = registry.watch_rooms();
        let codes = |rooms: &[RoomSummary]| rooms.iter().map(|r| r.code).collect::<Vec<_>>();
        assert_eq!(
            codes(&rooms.borrow_and_update()),
            [early.code],
            "a room opened before watching is there"
        );
        let unlisted = registry.create_room(settings(false)).unwrap();
        assert!(rooms.has_changed().unwrap());
        assert_eq!(rooms.borrow_and_update().len(), 2, "unlisted rooms too");
        assert!(registry.close_room(early.code));
        assert_eq!(codes(&rooms.borrow_and_update()), [unlisted.code]);
        assert!(!registry.close_room(early.code));
        assert!(
            !rooms.has_changed().unwrap(),
            "nothing changed, nothing sent"
        );
        registry.close_all();
        assert!(rooms.borrow_and_update().is_empty());
    }

    #[tokio::test]
    async fn too_many_queued_bytes_mark_a_slow_consumer() {
        let (link, _rx, _) = SocketQueue::new(100, 10);
        link.push(Outbound::Text("0123456789".into()));
        assert!(!link.is_slow() && !link.slow.is_cancelled());
        link.push(Outbound::Text("x".into()));
        assert!(link.is_slow() && link.slow.is_cancelled());
    }
}
