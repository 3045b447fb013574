//! Live allocations per member, and the relayed socket of each.
//!
//! The TURN server creates an allocation's relayed socket through our
//! [`Generator`] (its `RelayAddressGenerator` seam). The socket we hand it,
//! [`RelayedSocket`], carries the allocation's place in the books: taken when it
//! is made (refused over a quota), given back when the server closes it or drops
//! it. It also holds the allocation to its bandwidth and to the relay's scope.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::net::UdpSocket;
use turn::relay::RelayAddressGenerator;
use webrtc_util::Conn;

use crate::bucket::Bucket;
use crate::config::RelayConfig;

/// Why an allocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quota {
    /// The member holds its most (TURN 486 Allocation Quota Reached).
    Member,
    /// The relay holds its most (TURN 508 Insufficient Capacity).
    Relay,
}

/// The books: who holds which allocations.
#[derive(Debug)]
pub(crate) struct Accounting {
    state: Mutex<State>,
    total_bytes: Mutex<Bucket>,
    max_per_member: usize,
    max_total: usize,
    next: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// member → (allocation number, TURN user name) of each live allocation.
    members: HashMap<String, Vec<(u64, String)>>,
    total: usize,
}

impl Accounting {
    pub(crate) fn new(config: &RelayConfig) -> Accounting {
        Accounting {
            state: Mutex::new(State::default()),
            total_bytes: Mutex::new(Bucket::new(
                config.total_bytes_per_sec,
                config.total_bytes_per_sec,
            )),
            max_per_member: config.max_allocations_per_member,
            max_total: config.max_allocations,
            next: AtomicU64::new(1),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `member` may make one more allocation now.
    pub(crate) fn check(&self, member: &str) -> Result<(), Quota> {
        let state = self.state();
        Self::check_in(&state, member, self.max_per_member, self.max_total)
    }

    fn check_in(state: &State, member: &str, per: usize, total: usize) -> Result<(), Quota> {
        if state.members.get(member).map_or(0, Vec::len) >= per {
            Err(Quota::Member)
        } else if state.total >= total {
            Err(Quota::Relay)
        } else {
            Ok(())
        }
    }

    /// Takes a place for an allocation of `username`'s member (checked again:
    /// the UDP and TCP listeners admit in parallel).
    fn admit(self: &Arc<Self>, username: &str) -> Result<Place, Quota> {
        let member = crate::credentials::member_of(username).ok_or(Quota::Member)?;
        let mut state = self.state();
        Self::check_in(&state, member, self.max_per_member, self.max_total)?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        state
            .members
            .entry(member.to_owned())
            .or_default()
            .push((id, username.to_owned()));
        state.total += 1;
        Ok(Place {
            books: Arc::clone(self),
            member: member.to_owned(),
            id,
        })
    }

    /// Every member holding allocations, with the user names they hold them under.
    pub(crate) fn holders(&self) -> Vec<(String, Vec<String>)> {
        self.state()
            .members
            .iter()
            .map(|(m, live)| {
                let mut names: Vec<String> = live.iter().map(|(_, u)| u.clone()).collect();
                names.dedup();
                (m.clone(), names)
            })
            .collect()
    }

    /// Live allocations in all.
    pub(crate) fn total(&self) -> usize {
        self.state().total
    }

    fn spend_total(&self, bytes: u32) -> bool {
        self.total_bytes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(bytes)
    }
}

/// One allocation's place in the books; given back when dropped.
#[derive(Debug)]
struct Place {
    books: Arc<Accounting>,
    member: String,
    id: u64,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut state = self.books.state();
        if let Some(live) = state.members.get_mut(&self.member) {
            let before = live.len();
            live.retain(|(id, _)| *id != self.id);
            let gone = before - live.len();
            if live.is_empty() {
                state.members.remove(&self.member);
            }
            state.total -= gone;
        }
    }
}

/// What may be relayed to and from: a relay on a LAN address never talks to
/// loopback (the host's own services) nor to multicast or broadcast; a relay on
/// loopback (tests, benchmarks) talks to loopback only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    loopback: bool,
}

impl Scope {
    pub(crate) fn of(relay: IpAddr) -> Scope {
        Scope {
            loopback: relay.is_loopback(),
        }
    }

    pub(crate) fn allows(self, peer: SocketAddr) -> bool {
        let ip = peer.ip().to_canonical();
        if peer.port() == 0 || ip.is_unspecified() || ip.is_multicast() {
            return false;
        }
        if let IpAddr::V4(v4) = ip
            && v4.is_broadcast()
        {
            return false;
        }
        ip.is_loopback() == self.loopback
    }
}

/// Makes relayed sockets for one listener. The listener's gate names, just before
/// the server handles an Allocate it let through, whose allocation it is
/// (`pending`): the server handles one request at a time per listener.
pub(crate) struct Generator {
    pub(crate) books: Arc<Accounting>,
    pub(crate) pending: Arc<Mutex<Option<String>>>,
    pub(crate) bind: IpAddr,
    pub(crate) advertise: Arc<crate::relay::Shared>,
    pub(crate) bytes_per_sec: u32,
}

#[async_trait]
impl RelayAddressGenerator for Generator {
    fn validate(&self) -> Result<(), turn::Error> {
        Ok(())
    }

    async fn allocate_conn(
        &self,
        use_ipv4: bool,
        requested_port: u16,
    ) -> Result<(Arc<dyn Conn + Send + Sync>, SocketAddr), turn::Error> {
        let username = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| turn::Error::Other("no admitted allocate".into()))?;
        if !use_ipv4 {
            return Err(turn::Error::Other("IPv6 relaying is not offered".into()));
        }
        let advertise = self
            .advertise
            .advertised()
            .ok_or_else(|| turn::Error::Other("no address to advertise yet".into()))?;
        let place = self
            .books
            .admit(&username)
            .map_err(|q| turn::Error::Other(format!("quota: {q:?}")))?;
        let socket = UdpSocket::bind(SocketAddr::new(self.bind, requested_port))
            .await
            .map_err(|e| turn::Error::Other(e.to_string()))?;
        let local = socket
            .local_addr()
            .map_err(|e| turn::Error::Other(e.to_string()))?;
        let relayed = RelayedSocket {
            socket,
            scope: Scope::of(advertise),
            bucket: Mutex::new(Bucket::new(self.bytes_per_sec, self.bytes_per_sec)),
            place: Mutex::new(Some(place)),
        };
        tracing::debug!(relayed = %local, "allocation made");
        Ok((Arc::new(relayed), SocketAddr::new(advertise, local.port())))
    }
}

/// An allocation's relayed socket: counted in the books, held to its bandwidth
/// (both directions; what is over is dropped, as on a congested link) and to the
/// relay's scope.
struct RelayedSocket {
    socket: UdpSocket,
    scope: Scope,
    bucket: Mutex<Bucket>,
    place: Mutex<Option<Place>>,
}

impl RelayedSocket {
    fn spend(&self, bytes: usize) -> bool {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        self.bucket
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(bytes)
            && self.place_books().is_none_or(|b| b.spend_total(bytes))
    }

    fn place_books(&self) -> Option<Arc<Accounting>> {
        self.place
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|p| Arc::clone(&p.books))
    }
}

#[async_trait]
impl Conn for RelayedSocket {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other(
            "a relayed socket is not connected".into(),
        ))
    }

    async fn recv(&self, _buf: &mut [u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other(
            "a relayed socket is not connected".into(),
        ))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        loop {
            let (n, from) = self.socket.recv_from(buf).await?;
            if self.scope.allows(from) && self.spend(n) {
                return Ok((n, from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other(
            "a relayed socket is not connected".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if self.scope.allows(target) && self.spend(buf.len()) {
            Ok(self.socket.send_to(buf, target).await?)
        } else {
            Ok(buf.len())
        }
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// The allocation ended: its place goes back at once (the socket itself
    /// closes when the server's last handle on it is dropped).
    async fn close(&self) -> webrtc_util::Result<()> {
        self.place.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lan_relay_never_reaches_loopback_or_multicast() {
        let lan = Scope::of("10.0.0.1".parse().unwrap());
        assert!(lan.allows("10.0.0.7:5000".parse().unwrap()));
        assert!(!lan.allows("127.0.0.1:7878".parse().unwrap()));
        assert!(!lan.allows("[::1]:7878".parse().unwrap()));
        assert!(!lan.allows("[::ffff:127.0.0.1]:7878".parse().unwrap()));
        assert!(!lan.allows("224.0.0.251:5353".parse().unwrap()));
        assert!(!lan.allows("255.255.255.255:9".parse().unwrap()));
        assert!(!lan.allows("0.0.0.0:9".parse().unwrap()));
        let lo = Scope::of("127.0.0.1".parse().unwrap());
        assert!(lo.allows("127.0.0.1:7878".parse().unwrap()));
        assert!(!lo.allows("10.0.0.7:5000".parse().unwrap()));
    }

    #[test]
    fn places_are_counted_per_member_and_given_back() {
        let books = Arc::new(Accounting::new(&RelayConfig {
            max_allocations_per_member: 2,
            max_allocations: 3,
            ..RelayConfig::default()
        }));
        let far = u64::MAX;
        let a1 = books.admit(&format!("{far}:a")).unwrap();
        let _a2 = books.admit(&format!("{far}:a")).unwrap();
        assert_eq!(books.admit(&format!("{far}:a")).unwrap_err(), Quota::Member);
        let _b1 = books.admit(&format!("{far}:b")).unwrap();
        assert_eq!(books.admit(&format!("{far}:c")).unwrap_err(), Quota::Relay);
        assert_eq!(books.total(), 3);
        drop(a1);
        assert_eq!(books.total(), 2);
        assert!(books.check("a").is_ok());
        assert!(books.admit("1:expired").is_err());
    }
}
