//! The live table of nearby nodes: what mDNS told us, corrected by health checks.
//!
//! mDNS alone is too slow to forget: a host killed with SIGKILL sends no goodbye,
//! and its record lives on for the record's TTL (minutes). So every entry that
//! has been silent for [`Timing::check_after`] is health-checked on its LAN
//! listener; [`Timing::failures_to_hide`] failures in a row hide it (it no longer
//! shows or resolves), and a later success shows it again. A goodbye removes it.
//!
//! Pure bookkeeping with the clock passed in: no I/O here, so the rules are unit
//! tested without sockets.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::txt::NodeRecord;
use crate::codes::RoomCode;
use crate::netif;

/// A listed room somewhere on the LAN (here included), for "Nearby rooms".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LanRoom {
    pub code: RoomCode,
    pub name: String,
    /// The hosting node's name.
    pub host: String,
    pub ws: String,
    pub peers: usize,
    pub capacity: usize,
    /// Hosted by this node.
    pub local: bool,
}

/// Intervals of the health checks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// An entry silent this long gets checked.
    pub(crate) check_after: Duration,
    /// After a failed check, the next one comes this soon.
    pub(crate) recheck_after_failure: Duration,
    /// Failed checks in a row that hide an entry.
    pub(crate) failures_to_hide: u32,
    /// A hidden entry is still checked this often, in case it comes back.
    pub(crate) hidden_recheck: Duration,
    /// A hidden entry that mDNS never removes is dropped after this long.
    pub(crate) forget_hidden_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        // A killed host: silent ≤ 3 s + tick, fails, 0.5 s, fails → hidden in ~5 s
        // (refused at once), ~7 s when the checks have to time out (unplugged).
        Timing {
            check_after: Duration::from_secs(3),
            recheck_after_failure: Duration::from_millis(500),
            failures_to_hide: 2,
            hidden_recheck: Duration::from_secs(5),
            forget_hidden_after: Duration::from_secs(180),
        }
    }
}

/// Nodes kept at most; records beyond are ignored (a hostile LAN cannot make us
/// grow without bound).
pub(crate) const MAX_NODES: usize = 256;

#[derive(Debug)]
struct Entry {
    record: NodeRecord,
    /// Where its LAN listener is reached: preferred address and SRV port.
    addr: SocketAddr,
    /// Last mDNS update or successful health check.
    seen: Instant,
    next_check: Instant,
    failures: u32,
    hidden_since: Option<Instant>,
    checking: bool,
}

/// What a finished health check did to the visible table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Checked {
    Unchanged,
    /// The entry just became hidden; mDNS should verify it.
    Hidden,
    Shown,
}

/// The table, keyed by the service instance's full name.
#[derive(Debug)]
pub(crate) struct Table {
    own_id: Option<String>,
    timing: Timing,
    entries: HashMap<String, Entry>,
}

impl Table {
    pub(crate) fn new(own_id: Option<String>, timing: Timing) -> Table {
        Table {
            own_id,
            timing,
            entries: HashMap::new(),
        }
    }

    /// A resolved (or re-resolved) record. Returns whether the visible table
    /// changed. Our own record, and one with no usable address, are ignored.
    pub(crate) fn update(
        &mut self,
        fullname: &str,
        record: NodeRecord,
        addresses: &[IpAddr],
        port: u16,
        networks: &[(std::net::Ipv4Addr, std::net::Ipv4Addr)],
        now: Instant,
    ) -> bool {
        if self.own_id.as_deref() == Some(record.id.as_str()) || port == 0 {
            return false;
        }
        let Some(ip) = netif::reachable(addresses, networks) else {
            // Often the first event of a node; the next one brings its addresses.
            return false;
        };
        let addr = SocketAddr::new(ip, port);
        if let Some(entry) = self.entries.get_mut(fullname) {
            let changed =
                entry.hidden_since.is_none() && (entry.record != record || entry.addr != addr);
            entry.record = record;
            entry.addr = addr;
            entry.seen = now;
            if entry.hidden_since.is_some() {
                // Alive in mDNS: check it again soon.
                entry.next_check = now;
            } else {
                entry.next_check = now + self.timing.check_after;
                entry.failures = 0;
            }
            return changed;
        }
        if self.entries.len() >= MAX_NODES {
            return false;
        }
        self.entries.insert(
            fullname.to_owned(),
            Entry {
                record,
                addr,
                seen: now,
                next_check: now + self.timing.check_after,
                failures: 0,
                hidden_since: None,
                checking: false,
            },
        );
        true
    }

    /// A goodbye (or an expired record). Returns whether the visible table changed.
    pub(crate) fn remove(&mut self, fullname: &str) -> bool {
        self.entries
            .remove(fullname)
            .is_some_and(|e| e.hidden_since.is_none())
    }

    /// Entries due for a health check, marked as being checked.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<(String, SocketAddr)> {
        let forget = self.timing.forget_hidden_after;
        self.entries.retain(|_, e| {
            e.hidden_since
                .is_none_or(|since| now.duration_since(since) < forget)
        });
        self.entries
            .iter_mut()
            .filter(|(_, e)| !e.checking && e.next_check <= now)
            .map(|(name, e)| {
                e.checking = true;
                (name.clone(), e.addr)
            })
            .collect()
    }

    /// The result of a health check started by [`Table::due`].
    pub(crate) fn checked(
        &mut self,
        fullname: &str,
        addr: SocketAddr,
        ok: bool,
        now: Instant,
    ) -> Checked {
        let timing = self.timing;
        let Some(entry) = self.entries.get_mut(fullname) else {
            return Checked::Unchanged;
        };
        entry.checking = false;
        if entry.addr != addr {
            // Re-announced meanwhile at another address: that one gets its own check.
            entry.next_check = now;
            return Checked::Unchanged;
        }
        if ok {
            entry.seen = now;
            entry.failures = 0;
            entry.next_check = now + timing.check_after;
            return if entry.hidden_since.take().is_some() {
                Checked::Shown
            } else {
                Checked::Unchanged
            };
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.hidden_since.is_some() {
            entry.next_check = now + timing.hidden_recheck;
            return Checked::Unchanged;
        }
        if entry.failures >= timing.failures_to_hide {
            entry.hidden_since = Some(now);
            entry.next_check = now + timing.hidden_recheck;
            Checked::Hidden
        } else {
            entry.next_check = now + timing.recheck_after_failure;
            Checked::Unchanged
        }
    }

    fn visible(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(|e| e.hidden_since.is_none())
    }

    /// Listed rooms of the visible nodes, sorted by host name then room name; a
    /// code claimed twice shows once.
    pub(crate) fn rooms(&self) -> Vec<LanRoom> {
        let mut rooms: Vec<LanRoom> = self
            .visible()
            .flat_map(|e| {
                let ws = ws_url(e.addr);
                e.record.rooms.iter().map(move |r| LanRoom {
                    code: r.code,
                    name: r.name.clone(),
                    host: e.record.name.clone(),
                    ws: ws.clone(),
                    peers: r.peers,
                    capacity: r.capacity,
                    local: false,
                })
            })
            .collect();
        rooms.sort_by(|a, b| {
            (&a.host, &a.name, a.code, &a.ws).cmp(&(&b.host, &b.name, b.code, &b.ws))
        });
        let mut seen = std::collections::HashSet::new();
        rooms.retain(|r| seen.insert(r.code));
        rooms
    }

    /// The `ws` URL of a visible node that lists `code`.
    pub(crate) fn find_listed(&self, code: RoomCode) -> Option<String> {
        self.visible()
            .find(|e| e.record.rooms.iter().any(|r| r.code == code))
            .map(|e| ws_url(e.addr))
    }

    /// LAN listeners of the visible nodes (to ask about unlisted rooms).
    pub(crate) fn nodes(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = self.visible().map(|e| e.addr).collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    #[cfg(test)]
    fn seen(&self, fullname: &str) -> Option<Instant> {
        self.entries.get(fullname).map(|e| e.seen)
    }
}

/// `ws://HOST:PORT/ws` of a LAN listener.
pub(crate) fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{}/ws", netif::host_port(addr.ip(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::super::txt::TxtRoom;
    use super::*;

    fn record(id: &str, codes: &[&str]) -> NodeRecord {
        NodeRecord {
            id: id.into(),
            name: format!("host-{id}"),
            rooms: codes
                .iter()
                .map(|c| TxtRoom {
                    code: RoomCode::parse(c).unwrap(),
                    peers: 1,
                    capacity: 8,
                    name: format!("room {c}"),
                })
                .collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn table() -> (Table, Instant) {
        (
            Table::new(Some("me".into()), Timing::default()),
            Instant::now(),
        )
    }

    #[test]
    fn lists_rooms_of_other_nodes_with_their_preferred_address() {
        let (mut t, now) = table();
        assert!(t.update(
            "a._lanmeet",
            record("a", &["K7MQ2P"]),
            &[ip("fe80::1"), ip("10.0.0.2")],
            7878,
            &[],
            now
        ));
        assert!(
            !t.update(
                "me._lanmeet",
                record("me", &["ABCDEF"]),
                &[ip("10.0.0.1")],
                7878,
                &[],
                now
            ),
            "own record"
        );
        assert!(
            !t.update(
                "b._lanmeet",
                record("b", &["ABCDEG"]),
                &[ip("fe80::2")],
                7878,
                &[],
                now
            ),
            "no usable address"
        );
        let rooms = t.rooms();
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].ws, "ws://10.0.0.2:7878/ws");
        assert_eq!(rooms[0].host, "host-a");
        assert!(!rooms[0].local);
        assert_eq!(
            t.find_listed(RoomCode::parse("K7MQ2P").unwrap()).as_deref(),
            Some("ws://10.0.0.2:7878/ws")
        );
        assert_eq!(
            t.nodes(),
            vec!["10.0.0.2:7878".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn updates_replace_and_goodbyes_remove() {
        let (mut t, now) = table();
        t.update(
            "a",
            record("a", &["K7MQ2P"]),
            &[ip("10.0.0.2")],
            7878,
            &[],
            now,
        );
        assert!(
            !t.update(
                "a",
                record("a", &["K7MQ2P"]),
                &[ip("10.0.0.2")],
                7878,
                &[],
                now
            ),
            "same again"
        );
        assert!(t.update(
            "a",
            record("a", &["ABCDEF"]),
            &[ip("10.0.0.2")],
            7878,
            &[],
            now
        ));
        assert_eq!(t.rooms()[0].code.as_str(), "ABCDEF");
        assert!(t.remove("a"));
        assert!(t.rooms().is_empty());
        assert!(!t.remove("a"));
    }

    #[test]
    fn silent_entries_are_checked_and_hidden_after_failures() {
        let (mut t, now) = table();
        let timing = Timing::default();
        t.update(
            "a",
            record("a", &["K7MQ2P"]),
            &[ip("10.0.0.2")],
            7878,
            &[],
            now,
        );
        assert!(t.due(now).is_empty(), "fresh entries are not checked");
        let later = now + timing.check_after;
        let due = t.due(later);
        assert_eq!(due.len(), 1);
        assert!(t.due(later).is_empty(), "one check at a time");
        let addr = due[0].1;
        assert_eq!(t.checked("a", addr, false, later), Checked::Unchanged);
        assert_eq!(t.rooms().len(), 1, "one failure is not enough");
        let retry = later + timing.recheck_after_failure;
        assert_eq!(t.due(retry).len(), 1);
        assert_eq!(t.checked("a", addr, false, retry), Checked::Hidden);
        assert!(t.rooms().is_empty());
        assert!(t.find_listed(RoomCode::parse("K7MQ2P").unwrap()).is_none());
        assert!(t.nodes().is_empty());
        assert!(
            !t.remove("a"),
            "removing a hidden entry changes nothing visible"
        );
    }

    #[test]
    fn hidden_entries_come_back_when_healthy_and_are_forgotten_eventually() {
        let (mut t, now) = table();
        let timing = Timing::default();
        t.update(
            "a",
            record("a", &["K7MQ2P"]),
            &[ip("10.0.0.2")],
            7878,
            &[],
            now,
        );
        let addr: SocketAddr = "10.0.0.2:7878".parse().unwrap();
        let mut at = now + timing.check_after;
        for _ in 0..timing.failures_to_hide {
            assert_eq!(t.due(at).len(), 1);
            t.checked("a", addr, false, at);
            at += timing.recheck_after_failure;
        }
        assert!(t.rooms().is_empty());
        at += timing.hidden_recheck;
        assert_eq!(t.due(at).len(), 1);
        assert_eq!(t.checked("a", addr, true, at), Checked::Shown);
        assert_eq!(t.rooms().len(), 1);
        assert_eq!(t.seen("a"), Some(at));
        // Hidden again, then never answers: forgotten.
        for _ in 0..timing.failures_to_hide {
            at += timing.check_after;
            assert_eq!(t.due(at).len(), 1);
            t.checked("a", addr, false, at);
        }
        assert!(t.rooms().is_empty());
        let _ = t.due(at + timing.forget_hidden_after);
        assert!(t.entries.is_empty());
    }

    #[test]
    fn a_code_claimed_twice_shows_once() {
        let (mut t, now) = table();
        t.update(
            "a",
            record("a", &["K7MQ2P"]),
            &[ip("10.0.0.2")],
            7878,
            &[],
            now,
        );
        t.update(
            "b",
            record("b", &["K7MQ2P", "ABCDEF"]),
            &[ip("10.0.0.3")],
            7878,
            &[],
            now,
        );
        assert_eq!(t.rooms().len(), 2);
    }

    #[test]
    fn the_table_is_bounded() {
        let (mut t, now) = table();
        for i in 0..MAX_NODES + 10 {
            t.update(
                &format!("n{i}"),
                record(&format!("n{i}"), &[]),
                &[ip("10.0.0.2")],
                7878,
                &[],
                now,
            );
        }
        assert_eq!(t.entries.len(), MAX_NODES);
    }
}
