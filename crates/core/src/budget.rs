//! What each listener, and each source address on the LAN, may hold at once:
//! open connections (file descriptors) and peer-socket slots.
//!
//! A LAN host can open connections without knowing a room code, so nothing it
//! can open is unbounded: the LAN listener has a share of the process's open
//! files below the open-file limit, one address has a share of that, and the
//! local listener's connections and peer sockets are counted apart, so the
//! person at this machine keeps their UI however busy the LAN side is. Every
//! slot is a guard that gives itself back when dropped, however its connection
//! ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::Limits;

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// 127.0.0.1: the UI and control API of the person at this machine.
    Local,
    /// Every interface: other hosts.
    Lan,
}

/// Raises the soft open-file limit to the hard one (once per process) and
/// returns the soft limit in force, `None` where there is no such limit.
///
/// Each connection is a file descriptor; desktops often start processes with a
/// soft limit of 1,024 under a far higher hard one, which a single LAN host
/// could use up with idle connections.
pub(crate) fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::sync::OnceLock;
        static RAISED: OnceLock<()> = OnceLock::new();
        RAISED.get_or_init(|| match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => tracing::debug!(limit, "open-file limit"),
            Err(err) => tracing::warn!(%err, "could not raise the open-file limit"),
        });
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft)
            .filter(|&soft| soft != rlimit::INFINITY)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Open connections per listener and per LAN source address.
pub(crate) struct Connections {
    local_max: usize,
    lan_max: usize,
    per_address: usize,
    counts: Mutex<ConnectionCounts>,
}

#[derive(Default)]
struct ConnectionCounts {
    local: usize,
    lan: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The listener holds all the connections it may.
    Full,
    /// This source address holds all the connections it may.
    AddressFull,
}

impl Connections {
    /// Budgets from `limits`, with the LAN listener kept below the open-file
    /// limit `open_files` (when known) minus the local listener's connections and
    /// the descriptors the rest of the process needs.
    pub(crate) fn new(limits: &Limits, open_files: Option<u64>) -> Connections {
        let mut lan_max = limits.max_lan_connections;
        if let Some(open_files) = open_files {
            let open_files = usize::try_from(open_files).unwrap_or(usize::MAX);
            let room = open_files
                .saturating_sub(limits.max_local_connections)
                .saturating_sub(limits.reserved_files);
            // Too low a limit to honour the reserves: keep the LAN listener
            // usable, the local one keeps its own cap anyway.
            let room = room.max(16);
            if room < lan_max {
                tracing::info!(
                    open_files,
                    lan_connections = room,
                    "the open-file limit bounds the LAN listener"
                );
                lan_max = room;
            }
        }
        Connections {
            local_max: limits.max_local_connections,
            lan_max,
            per_address: limits.max_connections_per_address,
            counts: Mutex::new(ConnectionCounts::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnectionCounts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a connection from `peer` on `side`, or why not.
    pub(crate) fn admit(
        self: &Arc<Self>,
        side: Side,
        peer: IpAddr,
    ) -> Result<ConnectionSlot, Refused> {
        let mut counts = self.lock();
        match side {
            Side::Local => {
                if counts.local >= self.local_max {
                    return Err(Refused::Full);
                }
                counts.local += 1;
            }
            Side::Lan => {
                if counts.lan >= self.lan_max {
                    return Err(Refused::Full);
                }
                let from = counts.by_address.entry(peer).or_insert(0);
                if *from >= self.per_address {
                    return Err(Refused::AddressFull);
                }
                *from += 1;
                counts.lan += 1;
            }
        }
        Ok(ConnectionSlot {
            connections: self.clone(),
            side,
            peer,
        })
    }

    /// Open connections on both listeners.
    pub(crate) fn open(&self) -> usize {
        let counts = self.lock();
        counts.local + counts.lan
    }

    fn release(&self, side: Side, peer: IpAddr) {
        let mut counts = self.lock();
        match side {
            Side::Local => counts.local = counts.local.saturating_sub(1),
            Side::Lan => {
                counts.lan = counts.lan.saturating_sub(1);
                if let Some(from) = counts.by_address.get_mut(&peer) {
                    *from = from.saturating_sub(1);
                    if *from == 0 {
                        counts.by_address.remove(&peer);
                    }
                }
            }
        }
    }
}

/// One open connection; dropping it gives the slot back.
pub(crate) struct ConnectionSlot {
    connections: Arc<Connections>,
    side: Side,
    peer: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.connections.release(self.side, self.peer);
    }
}

/// Peer-socket slots: every socket counts toward `max_sockets`; LAN sockets
/// leave a share to the local listener; LAN sockets that have not joined a room
/// yet get at most half of the LAN's share, and a few per source address, so
/// upgrades that never join cannot keep out the people who do.
pub(crate) struct SocketSlots {
    max: usize,
    lan_max: usize,
    unjoined_max: usize,
    unjoined_per_address: usize,
    /// Mirrors `counts.total`, for stats without the lock.
    open: AtomicUsize,
    counts: Mutex<SocketCounts>,
}

#[derive(Default)]
struct SocketCounts {
    total: usize,
    lan: usize,
    unjoined: usize,
    unjoined_by_address: HashMap<IpAddr, usize>,
}

/// Why an upgrade to `/ws` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketRefused {
    /// Every slot this listener may use is taken.
    Full,
    /// Too many sockets that have not joined yet, node-wide or from this address.
    TooManyUnjoined,
}

impl SocketSlots {
    pub(crate) fn new(limits: &Limits) -> SocketSlots {
        let max = limits.max_sockets;
        let local_share = limits.local_sockets_reserved.min(max / 2);
        let lan_max = max - local_share;
        SocketSlots {
            max,
            lan_max,
            unjoined_max: limits.max_unjoined_sockets.min(lan_max / 2).max(1),
            unjoined_per_address: limits.max_unjoined_per_address,
            open: AtomicUsize::new(0),
            counts: Mutex::new(SocketCounts::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SocketCounts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a new, not yet joined socket from `peer` on `side`.
    pub(crate) fn admit(
        self: &Arc<Self>,
        side: Side,
        peer: IpAddr,
    ) -> Result<SocketSlot, SocketRefused> {
        let mut counts = self.lock();
        if counts.total >= self.max {
            return Err(SocketRefused::Full);
        }
        if side == Side::Lan {
            if counts.lan >= self.lan_max {
                return Err(SocketRefused::Full);
            }
            if counts.unjoined >= self.unjoined_max {
                return Err(SocketRefused::TooManyUnjoined);
            }
            let from = counts.unjoined_by_address.entry(peer).or_insert(0);
            if *from >= self.unjoined_per_address {
                return Err(SocketRefused::TooManyUnjoined);
            }
            *from += 1;
            counts.unjoined += 1;
            counts.lan += 1;
        }
        counts.total += 1;
        self.open.store(counts.total, Ordering::Release);
        Ok(SocketSlot {
            slots: self.clone(),
            side,
            peer,
            unjoined: side == Side::Lan,
        })
    }

    /// Open peer sockets, joined or not.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn forget_unjoined(counts: &mut SocketCounts, peer: IpAddr) {
        counts.unjoined = counts.unjoined.saturating_sub(1);
        if let Some(from) = counts.unjoined_by_address.get_mut(&peer) {
            *from = from.saturating_sub(1);
            if *from == 0 {
                counts.unjoined_by_address.remove(&peer);
            }
        }
    }
}

/// One peer socket's slot; dropping it gives the slot back.
pub(crate) struct SocketSlot {
    slots: Arc<SocketSlots>,
    side: Side,
    peer: IpAddr,
    /// Still counted among the sockets that have not joined.
    unjoined: bool,
}

impl SocketSlot {
    /// The socket joined a room: it no longer counts against the budget for
    /// sockets that have not.
    pub(crate) fn joined(&mut self) {
        if std::mem::take(&mut self.unjoined) {
            let mut counts = self.slots.lock();
            SocketSlots::forget_unjoined(&mut counts, self.peer);
        }
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.lock();
        if self.unjoined {
            SocketSlots::forget_unjoined(&mut counts, self.peer);
        }
        if self.side == Side::Lan {
            counts.lan = counts.lan.saturating_sub(1);
        }
        counts.total = counts.total.saturating_sub(1);
        self.slots.open.store(counts.total, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn connections_are_capped_per_listener_and_per_address() {
        let limits = Limits {
            max_lan_connections: 5,
            max_local_connections: 2,
            max_connections_per_address: 3,
            ..Limits::default()
        };
        let c = Arc::new(Connections::new(&limits, None));
        let a: Vec<_> = (0..3).map(|_| c.admit(Side::Lan, ip(1)).unwrap()).collect();
        assert_eq!(c.admit(Side::Lan, ip(1)).err(), Some(Refused::AddressFull));
        let b: Vec<_> = (0..2).map(|_| c.admit(Side::Lan, ip(2)).unwrap()).collect();
        assert_eq!(c.admit(Side::Lan, ip(3)).err(), Some(Refused::Full));
        // The local listener has its own budget.
        let l: Vec<_> = (0..2)
            .map(|_| c.admit(Side::Local, ip(1)).unwrap())
            .collect();
        assert_eq!(c.admit(Side::Local, ip(1)).err(), Some(Refused::Full));
        assert_eq!(c.open(), 7);
        drop(a);
        assert!(c.admit(Side::Lan, ip(1)).is_ok());
        drop((b, l));
        assert_eq!(c.open(), 0);
        assert!(c.lock().by_address.is_empty());
    }

    #[test]
    fn the_open_file_limit_bounds_the_lan_listener() {
        let limits = Limits::default();
        let c = Connections::new(&limits, Some(1024));
        assert_eq!(
            c.lan_max,
            1024 - limits.max_local_connections - limits.reserved_files
        );
        assert_eq!(Connections::new(&limits, Some(10)).lan_max, 16);
        assert_eq!(
            Connections::new(&limits, Some(1 << 20)).lan_max,
            limits.max_lan_connections
        );
    }

    #[test]
    fn unjoined_sockets_are_capped_and_joining_frees_the_slot() {
        let limits = Limits {
            max_sockets: 20,
            local_sockets_reserved: 4,
            max_unjoined_sockets: 100,
            max_unjoined_per_address: 2,
            ..Limits::default()
        };
        let s = Arc::new(SocketSlots::new(&limits));
        assert_eq!((s.lan_max, s.unjoined_max), (16, 8));
        let mut first = s.admit(Side::Lan, ip(1)).unwrap();
        let _second = s.admit(Side::Lan, ip(1)).unwrap();
        assert_eq!(
            s.admit(Side::Lan, ip(1)).err(),
            Some(SocketRefused::TooManyUnjoined)
        );
        first.joined();
        first.joined();
        let _third = s.admit(Side::Lan, ip(1)).unwrap();
        // Node-wide, unjoined sockets get half the LAN's share.
        let many: Vec<_> = (2..8).map(|n| s.admit(Side::Lan, ip(n)).unwrap()).collect();
        assert_eq!(
            s.admit(Side::Lan, ip(9)).err(),
            Some(SocketRefused::TooManyUnjoined)
        );
        // The local listener is not held back by any of it.
        let local: Vec<_> = (0..4)
            .map(|_| s.admit(Side::Local, ip(1)).unwrap())
            .collect();
        assert_eq!(s.open(), 13);
        drop((many, local, first));
        assert_eq!(s.open(), 2);
    }

    #[test]
    fn the_lan_leaves_the_local_listener_its_share() {
        let limits = Limits {
            max_sockets: 10,
            local_sockets_reserved: 2,
            max_unjoined_sockets: 100,
            max_unjoined_per_address: 100,
            ..Limits::default()
        };
        let s = Arc::new(SocketSlots::new(&limits));
        let mut lan = Vec::new();
        for n in 0..8 {
            let mut slot = s.admit(Side::Lan, ip(n)).unwrap();
            slot.joined();
            lan.push(slot);
        }
        assert_eq!(s.admit(Side::Lan, ip(50)).err(), Some(SocketRefused::Full));
        let _l1 = s.admit(Side::Local, ip(1)).unwrap();
        let _l2 = s.admit(Side::Local, ip(1)).unwrap();
        assert_eq!(s.admit(Side::Local, ip(1)).err(), Some(SocketRefused::Full));
    }
}
