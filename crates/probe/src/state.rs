//! What a probe knows about itself and its links, readable from outside at any time.
//!
//! The session task and the link tasks write here; the `Probe` handle reads snapshots.
//! It is a std `Mutex` (never held across `.await`, each write is a few field updates)
//! plus a `watch` counter bumped after every change, so a caller can wait for a
//! condition without polling and without missing an update.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lanmeet_native_peer::{SelectedPair, Via};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::protocol::RoomInfo;

/// Most round-trip samples kept per link (a ring: older ones are dropped).
const MAX_RTT_SAMPLES: usize = 512;
/// Most chat messages kept per link.
const MAX_CHATS: usize = 256;

/// Where a probe's session stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "reason")]
pub enum SessionState {
    /// Joined and the peer socket is up.
    Joined,
    /// The peer socket dropped; reconnecting with the resume token.
    Reconnecting,
    /// Over for good; the reason says why.
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseReason {
    /// We sent `leave`.
    Left,
    /// The node sent `room-closed`.
    RoomClosed,
    /// Another socket resumed our id (close reason `replaced`).
    Replaced,
    /// The node sent a fatal error (its code) and closed.
    Refused(String),
    /// The socket dropped and every resume attempt failed.
    Lost,
    /// The probe was stopped or dropped without leaving.
    Stopped,
}

/// Packets counted on one inbound media track.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrackStats {
    /// `audio` or `video`.
    pub kind: String,
    /// The track id the sender chose.
    pub track_id: String,
    /// RTP packets received so far.
    pub packets: u64,
    /// RTP payload bytes received so far.
    pub bytes: u64,
    /// Whole frames received so far: a decoder could take them (video counts from the
    /// first keyframe on, and skips to the next keyframe after a loss).
    pub frames: u64,
    /// How many of those frames were VP8 keyframes (audio: 0).
    pub keyframes: u64,
}

/// A chat message received on a data channel.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChatMessage {
    /// The text as sent.
    pub text: String,
    /// The sender's timestamp (ms since the epoch), when it sent one.
    pub ts: Option<u64>,
}

/// One peer connection from this probe to another room member, as seen from here.
#[derive(Debug, Clone, Serialize)]
pub struct LinkSnapshot {
    /// The other member's peer id.
    pub peer_id: String,
    /// The other member's name, when the node told us.
    pub name: Option<String>,
    /// True when this side is the polite one (its id sorts first).
    pub polite: bool,
    /// True when this side sent the first offer (it was the newcomer).
    pub offerer: bool,
    /// When the link was created (first offer made or received).
    #[serde(skip)]
    pub created_at: Instant,
    /// When the `lanmeet` data channel opened here.
    #[serde(skip)]
    pub opened_at: Option<Instant>,
    /// `opened_at - created_at` in milliseconds.
    pub connect_ms: Option<f64>,
    /// The peer connection's state (`new`, `connecting`, `connected`, `failed`, …).
    pub connection_state: String,
    /// The ICE connection state.
    pub ice_state: String,
    /// Whether the `lanmeet` data channel is open now.
    pub channel_open: bool,
    /// Our pings sent on the channel.
    pub pings_sent: u64,
    /// Pongs received for them.
    pub pongs_received: u64,
    /// The other side's pings we answered.
    pub pings_answered: u64,
    /// Every message received on the channel, of any type.
    pub messages_received: u64,
    /// Round-trip times measured with ping/pong, in ms, oldest first (capped).
    pub rtt_ms: Vec<f64>,
    /// Chat messages received (capped).
    pub chats: Vec<ChatMessage>,
    /// The last `{"type":"state"}` message received.
    pub remote_state: Option<Value>,
    /// Inbound media tracks on this link.
    pub tracks: Vec<TrackStats>,
    /// Offers and answers applied (renegotiations show up here).
    pub descriptions_applied: u64,
    /// The last WebRTC error seen on this link, if any.
    pub last_error: Option<String>,
    /// The candidate pair ICE selected, as last seen (`None` until it connected).
    pub selected_pair: Option<SelectedPair>,
    /// Our pings not yet answered: id → when sent.
    #[serde(skip)]
    pub(crate) pending_pings: HashMap<u64, Instant>,
    /// Distinguishes a link from an earlier one to the same peer id.
    #[serde(skip)]
    pub(crate) generation: u64,
}

impl LinkSnapshot {
    pub(crate) fn new(
        peer_id: String,
        name: Option<String>,
        polite: bool,
        offerer: bool,
        generation: u64,
    ) -> Self {
        LinkSnapshot {
            peer_id,
            name,
            polite,
            offerer,
            created_at: Instant::now(),
            opened_at: None,
            connect_ms: None,
            connection_state: "new".into(),
            ice_state: "new".into(),
            channel_open: false,
            pings_sent: 0,
            pongs_received: 0,
            pings_answered: 0,
            messages_received: 0,
            rtt_ms: Vec::new(),
            chats: Vec::new(),
            remote_state: None,
            tracks: Vec::new(),
            descriptions_applied: 0,
            last_error: None,
            selected_pair: None,
            pending_pings: HashMap::new(),
            generation,
        }
    }

    /// True while the data channel is open: the only proof that a pair can talk
    /// (ICE, DTLS and SCTP all work).
    pub fn is_connected(&self) -> bool {
        self.channel_open
    }

    /// True if the data channel ever opened on this link.
    pub fn has_connected(&self) -> bool {
        self.opened_at.is_some()
    }

    /// Direct or through a relay, once ICE selected a pair.
    pub fn via(&self) -> Option<Via> {
        self.selected_pair.as_ref().map(SelectedPair::via)
    }

    /// Median of the round-trip samples, in ms.
    pub fn rtt_median_ms(&self) -> Option<f64> {
        median(&self.rtt_ms)
    }

    pub(crate) fn push_rtt(&mut self, rtt: Duration) {
        if self.rtt_ms.len() >= MAX_RTT_SAMPLES {
            self.rtt_ms.remove(0);
        }
        self.rtt_ms.push(rtt.as_secs_f64() * 1000.0);
    }

    pub(crate) fn push_chat(&mut self, chat: ChatMessage) {
        if self.chats.len() >= MAX_CHATS {
            self.chats.remove(0);
        }
        self.chats.push(chat);
    }
}

/// A member that left, or whose link was torn down, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Departed {
    /// Its peer id.
    pub peer_id: String,
    /// Why the link ended: `peer-left`, `missed-leave`, `rejoined`, `closed`, or
    /// `restarted` (the peer started a new connection under the same id, as a reloaded
    /// page does, and a fresh link replaced this one).
    pub reason: String,
    /// The link as it was when it was torn down (what it achieved stays reportable).
    pub link: Option<LinkSnapshot>,
}

/// Everything a probe knows, at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeSnapshot {
    /// The name this probe joined with.
    pub name: String,
    /// Its peer id (changes only when a resume fails and it rejoins anew).
    pub id: String,
    /// The room, as the last `welcome` described it.
    pub room: RoomInfo,
    /// Session state.
    pub state: SessionState,
    /// `welcome` messages received (1 + reconnects).
    pub welcomes: u32,
    /// Of those, how many resumed the same id.
    pub resumes: u32,
    /// Room members other than us, by id, with their names (from welcome / peer-joined).
    pub members: BTreeMap<String, String>,
    /// Live links by peer id.
    pub links: BTreeMap<String, LinkSnapshot>,
    /// Links torn down, oldest first.
    pub departed: Vec<Departed>,
    /// The last error the node sent.
    pub last_error: Option<String>,
}

impl ProbeSnapshot {
    /// True when this probe has an open data channel to every id in `peers`.
    pub fn connected_to_all<'a>(&self, peers: impl IntoIterator<Item = &'a str>) -> bool {
        peers
            .into_iter()
            .all(|p| self.links.get(p).is_some_and(LinkSnapshot::is_connected))
    }

    /// Open links.
    pub fn connected_count(&self) -> usize {
        self.links.values().filter(|l| l.is_connected()).count()
    }
}

/// A probe's [`ProbeSnapshot`], kept current by its session and link tasks and read by
/// its [`Probe`](crate::Probe) handle; a watch counter wakes whoever waits for a change.
#[derive(Debug)]
pub(crate) struct SnapshotStore {
    state: Mutex<ProbeSnapshot>,
    changed: watch::Sender<u64>,
    /// The session's resume token: beside the snapshot, never in a report.
    resume_token: Mutex<String>,
}

impl SnapshotStore {
    pub(crate) fn new(name: String) -> Arc<SnapshotStore> {
        let (changed, _) = watch::channel(0);
        Arc::new(SnapshotStore {
            state: Mutex::new(ProbeSnapshot {
                name,
                id: String::new(),
                room: RoomInfo::default(),
                state: SessionState::Joined,
                welcomes: 0,
                resumes: 0,
                members: BTreeMap::new(),
                links: BTreeMap::new(),
                departed: Vec::new(),
                last_error: None,
            }),
            changed,
            resume_token: Mutex::new(String::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ProbeSnapshot> {
        // A poisoned lock means a panic while updating counters; the data is still
        // the best we have, so keep going rather than cascade the panic.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn resume_token(&self) -> String {
        self.resume_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_resume_token(&self, token: String) {
        *self.resume_token.lock().unwrap_or_else(|e| e.into_inner()) = token;
    }

    pub(crate) fn snapshot(&self) -> ProbeSnapshot {
        self.lock().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Applies `f` to the whole state and wakes watchers.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut ProbeSnapshot) -> R) -> R {
        let r = f(&mut self.lock());
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        r
    }

    /// Reads one link (same generation only) without waking watchers.
    pub(crate) fn read_link<R>(
        &self,
        peer_id: &str,
        generation: u64,
        f: impl FnOnce(&LinkSnapshot) -> R,
    ) -> Option<R> {
        self.lock()
            .links
            .get(peer_id)
            .filter(|l| l.generation == generation)
            .map(f)
    }

    /// Applies `f` to one link, if it is still the same generation; wakes watchers.
    pub(crate) fn update_link<R>(
        &self,
        peer_id: &str,
        generation: u64,
        f: impl FnOnce(&mut LinkSnapshot) -> R,
    ) -> Option<R> {
        self.update(|s| {
            s.links
                .get_mut(peer_id)
                .filter(|l| l.generation == generation)
                .map(f)
        })
    }
}

/// Median of a sample list, `None` when empty.
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_samples() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn stale_link_generation_is_not_updated() {
        let store = SnapshotStore::new("p".into());
        store.update(|s| {
            s.links.insert(
                "a".into(),
                LinkSnapshot::new("a".into(), None, true, true, 2),
            )
        });
        assert!(store.update_link("a", 1, |l| l.pings_sent += 1).is_none());
        assert!(store.update_link("a", 2, |l| l.pings_sent += 1).is_some());
        assert_eq!(store.snapshot().links["a"].pings_sent, 1);
    }
}
