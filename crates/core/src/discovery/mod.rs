//! LAN discovery over mDNS (docs/PROTOCOL.md, "LAN discovery").
//!
//! A node that hosts any room advertises `_lanmeet._tcp.local.` (port = its LAN
//! port, TXT as in [`txt`]) and updates the record when its rooms change; a
//! clean stop sends goodbyes. Every node (and `lanmeet rooms`) browses for the
//! same type and keeps a live [`table`] of the others, health-checked so a host
//! that vanished without a goodbye leaves the list within seconds, not minutes.
//! Unlisted rooms are found by asking each known node `HEAD /api/rooms/{code}`
//! ([`ask`]).
//!
//! mdns-sd joins the multicast groups of every interface as it starts, so the
//! interfaces that are not the LAN (loopback, containers, VPNs, or all but the
//! ones the user named) are disabled with the very first command it gets, and a
//! node with discovery off never creates a daemon at all.
//!
//! Instance names embed the node's random id (`lanmeet-<id>`), so they cannot
//! clash and name probing (about a second) is skipped.

mod ask;
mod table;
mod txt;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mdns_sd::{IfKind, IfPredicate, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::codes::RoomCode;
use crate::netif;
use crate::rooms::RoomSummary;
use table::{Checked, Table, Timing};

pub use table::LanRoom;

/// The mDNS service type of lanmeet nodes.
pub(crate) const SERVICE_TYPE: &str = "_lanmeet._tcp.local.";

/// How long after the browse starts its answers are complete enough to say
/// "no such room". A running node usually answers a new browser within ~100 ms,
/// but an answer that coincides with another browser's query can be missed and
/// only comes with the next query, about a second later; on a busy machine
/// later still. Only a "not found" waits this long: anything found returns at once.
pub(crate) const SETTLE: Duration = Duration::from_millis(3000);
/// Timeout of one health check or room check.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the table looks for entries due a health check.
const TICK: Duration = Duration::from_millis(250);
/// Least time between two re-announcements (bursts of joins coalesce).
const MIN_SPACING: Duration = Duration::from_millis(200);
/// When a new record is announced again, counted from the previous time
/// (RFC 6762 §8.3 and §8.4: at least twice, one second apart, each interval at
/// least double the one before). mdns-sd means to send the second itself, but
/// its resend looks the service up by the name as given while it keeps it
/// lowercased, so for our mixed-case instance names it never goes out
/// (mdns-sd 0.21.7, `exec_command_register_resend`). A lost announcement then
/// waited for the browser's next query, which backs off to 4 s, 8 s, …
///
/// The first repeat is a little over a second: mdns-sd drops a record
/// multicast less than a second ago (RFC 6762 §6), measured from when its
/// thread sent it, a little after we asked.
const REPEATS: [Duration; 2] = [Duration::from_millis(1200), Duration::from_millis(2400)];
/// How long mdns-sd verifies a hidden entry before flushing it.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why discovery could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("mDNS: {0}")]
    Mdns(#[from] mdns_sd::Error),
}

/// What a node advertises: who it is, where its LAN listener is, and its rooms,
/// every one of them (the record exists while any room does, so unlisted rooms
/// can be asked for; only listed ones are named in it).
pub(crate) struct Advert {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) rooms: watch::Receiver<Vec<RoomSummary>>,
}

struct Inner {
    table: Mutex<Table>,
    /// Bumped when the visible table changes.
    changes: watch::Sender<u64>,
    daemon: ServiceDaemon,
}

impl Inner {
    fn table(&self) -> MutexGuard<'_, Table> {
        // Plain bookkeeping; a panic inside would be a bug, the data stays usable.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A running mDNS browser (and, for a node, advertiser). Stop it with
/// [`Discovery::stop`], which also sends the goodbyes.
pub struct Discovery {
    inner: Arc<Inner>,
    stop: CancellationToken,
    tasks: TaskTracker,
    advertiser: Mutex<Option<JoinHandle<()>>>,
    started: Instant,
}

impl Discovery {
    /// Starts browsing on the LAN interfaces (`only` non-empty: exactly those).
    /// `own_id` is this node's id, whose record is not listed (its rooms are
    /// already there as local). Needs a tokio runtime.
    pub fn start(only: &[String], own_id: Option<String>) -> Result<Discovery, DiscoveryError> {
        if netif::lan_addresses(only).is_empty() {
            tracing::warn!(
                interfaces = ?only,
                "no LAN interface to run discovery on yet (nearby rooms stay empty until one comes up)"
            );
        }
        let daemon = ServiceDaemon::new()?;
        let only_names = only.to_vec();
        // First command the daemon sees, so it leaves the other interfaces at once.
        let events = daemon
            .disable_interface(IfKind::Predicate(IfPredicate::new(move |intf| {
                !netif::is_lan_interface(&intf.name, intf.is_loopback(), &only_names)
            })))
            .and_then(|()| daemon.browse(SERVICE_TYPE));
        let events = match events {
            Ok(events) => events,
            Err(err) => {
                let _ = daemon.shutdown();
                return Err(err.into());
            }
        };
        let (changes, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            table: Mutex::new(Table::new(own_id, Timing::default())),
            changes,
            daemon,
        });
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        tasks.spawn(browse(inner.clone(), events, stop.clone()));
        tasks.spawn(health(inner.clone(), tasks.clone(), stop.clone()));
        tracing::info!(interfaces = ?only, "discovery started");
        Ok(Discovery {
            inner,
            stop,
            tasks,
            advertiser: Mutex::new(None),
            started: Instant::now(),
        })
    }

    /// Starts advertising this node's rooms (while it hosts any).
    pub(crate) fn advertise(&self, advert: Advert) {
        let task = tokio::spawn(advertise(
            self.inner.daemon.clone(),
            advert,
            self.stop.clone(),
        ));
        let mut slot = self.advertiser.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.replace(task) {
            old.abort();
        }
    }

    /// Listed rooms of the other nodes found so far (`local: false`).
    pub fn rooms(&self) -> Vec<LanRoom> {
        self.inner.table().rooms()
    }

    /// A receiver that wakes whenever [`Discovery::rooms`] changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// The `ws` URL of the node hosting `code`: a listed room from the table, or
    /// else the first node that answers 204 to `HEAD /api/rooms/{code}`. Right
    /// after start, waits for the browse to settle before saying `None`.
    pub async fn find(&self, code: RoomCode) -> Option<String> {
        let mut changes = self.subscribe();
        loop {
            changes.mark_unchanged();
            if let Some(ws) = self.find_now(code).await {
                return Some(ws);
            }
            let settle = self.started + SETTLE;
            if Instant::now() >= settle {
                return None;
            }
            tokio::select! {
                () = tokio::time::sleep_until(settle) => {}
                changed = changes.changed() => if changed.is_err() { return None },
                () = self.stop.cancelled() => return None,
            }
        }
    }

    async fn find_now(&self, code: RoomCode) -> Option<String> {
        let nodes = {
            let table = self.inner.table();
            if let Some(ws) = table.find_listed(code) {
                return Some(ws);
            }
            table.nodes()
        };
        let mut asks = JoinSet::new();
        for addr in nodes {
            asks.spawn(async move { (addr, ask::hosts_room(addr, code, ASK_TIMEOUT).await) });
        }
        while let Some(done) = asks.join_next().await {
            if let Ok((addr, Some(true))) = done {
                return Some(table::ws_url(addr));
            }
        }
        None
    }

    /// Sends goodbyes for this node's record (if any), then stops the daemon
    /// and every task. Bounded: a few seconds at worst.
    pub async fn stop(&self) {
        self.stop.cancel();
        let advertiser = self
            .advertiser
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(task) = advertiser {
            if tokio::time::timeout(Duration::from_secs(3), task)
                .await
                .is_err()
            {
                tracing::warn!("mDNS goodbye took too long");
            }
        }
        if let Ok(done) = self.inner.daemon.shutdown() {
            let _ = tokio::time::timeout(Duration::from_secs(2), done.recv_async()).await;
        }
        self.tasks.close();
        if tokio::time::timeout(Duration::from_secs(3), self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("discovery tasks did not stop in time");
        }
        tracing::info!("discovery stopped");
    }
}

/// Turns mDNS events into table updates.
async fn browse(
    inner: Arc<Inner>,
    events: mdns_sd::Receiver<ServiceEvent>,
    stop: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            () = stop.cancelled() => break,
            event = events.recv_async() => match event {
                Ok(event) => event,
                Err(_) => break,
            },
        };
        tracing::trace!(?event, "mDNS");
        let changed = match event {
            ServiceEvent::ServiceResolved(service) => {
                let props = service.get_properties().iter().map(|p| (p.key(), p.val()));
                match txt::decode(props) {
                    Ok(record) => {
                        let addresses: Vec<_> = service
                            .get_addresses()
                            .iter()
                            .map(|ip| ip.to_ip_addr())
                            .collect();
                        let networks = netif::ipv4_networks();
                        let now = Instant::now().into_std();
                        let mut table = inner.table();
                        table.update(
                            &service.fullname,
                            record,
                            &addresses,
                            service.port,
                            &networks,
                            now,
                        )
                    }
                    Err(why) => {
                        // Another device's noise: not worth more than a debug line.
                        tracing::debug!(name = %service.fullname, %why, "ignoring mDNS record");
                        inner.table().remove(&service.fullname)
                    }
                }
            }
            ServiceEvent::ServiceRemoved(_, fullname) => inner.table().remove(&fullname),
            _ => false,
        };
        if changed {
            inner.changed();
        }
    }
}

/// Health-checks entries that fell silent; hides the ones that stopped answering.
async fn health(inner: Arc<Inner>, tasks: TaskTracker, stop: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let due = inner.table().due(Instant::now().into_std());
        for (fullname, addr) in due {
            let inner = inner.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                let ok = tokio::select! {
                    ok = ask::healthy(addr, ASK_TIMEOUT) => ok,
                    () = stop.cancelled() => return,
                };
                check_done(&inner, &fullname, addr, ok);
            });
        }
    }
}

fn check_done(inner: &Inner, fullname: &str, addr: SocketAddr, ok: bool) {
    let outcome = inner
        .table()
        .checked(fullname, addr, ok, Instant::now().into_std());
    match outcome {
        Checked::Unchanged => {}
        Checked::Shown => inner.changed(),
        Checked::Hidden => {
            tracing::info!(%fullname, %addr, "a nearby node stopped answering; hiding it");
            // Let mdns-sd find out too, so its cache (and a later ServiceRemoved)
            // agrees with us.
            let _ = inner.daemon.verify(fullname.to_owned(), VERIFY_TIMEOUT);
            inner.changed();
        }
    }
}

/// The instance and host names of a node's record.
fn names(id: &str) -> (String, String) {
    let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
    (format!("lanmeet-{id}"), format!("lanmeet-{hex}.local."))
}

/// Keeps this node's record in line with its rooms until `stop`, then says goodbye.
///
/// A change is announced at once; the next one waits at least [`MIN_SPACING`]
/// (a burst of joins becomes one update). Each new record is announced again
/// after the [`REPEATS`] intervals, so one lost packet costs about a second,
/// not the several seconds until a browser's next query.
async fn advertise(daemon: ServiceDaemon, advert: Advert, stop: CancellationToken) {
    let (instance, host) = names(&advert.id);
    let fullname = format!("{instance}.{SERVICE_TYPE}");
    let mut changes = advert.rooms.clone();
    // The listed rooms announced now (`None`: no record), and the serial used.
    let mut announced: Option<Vec<txt::TxtRoom>> = None;
    let mut serial: u32 = 0;
    // Repeats still due for the record announced last: when the next one is,
    // and which gap of REPEATS comes after it.
    let mut repeat: Option<(Instant, usize)> = None;
    loop {
        changes.mark_unchanged();
        let rooms = changes.borrow().clone();
        let wanted = (!rooms.is_empty()).then(|| {
            rooms
                .into_iter()
                .filter(|r| r.listed)
                .map(|r| txt::TxtRoom {
                    code: r.code,
                    peers: r.peers,
                    capacity: r.capacity,
                    name: r.name,
                })
                .collect::<Vec<_>>()
        });
        if wanted != announced {
            let done = match &wanted {
                Some(rooms) => {
                    serial = serial.wrapping_add(1);
                    let props = txt::encode(&advert.id, &advert.name, serial, rooms);
                    register(&daemon, &instance, &host, advert.port, &props)
                }
                None => unregister(&daemon, &fullname).await,
            };
            let pause = if done {
                repeat = wanted.is_some().then(|| (Instant::now() + REPEATS[0], 1));
                announced = wanted;
                MIN_SPACING
            } else {
                // The daemon's queue was full or it is gone: try again shortly.
                Duration::from_millis(500)
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
            if !done {
                continue;
            }
        }
        let due = repeat.map(|(at, _)| at);
        tokio::select! {
            () = stop.cancelled() => break,
            changed = changes.changed() => if changed.is_err() { break },
            () = sleep_until_some(due) => {
                if let (Some((_, next)), Some(rooms)) = (repeat, &announced) {
                    // The same record again (same serial: nothing changed).
                    let props = txt::encode(&advert.id, &advert.name, serial, rooms);
                    register(&daemon, &instance, &host, advert.port, &props);
                    repeat = REPEATS.get(next).map(|gap| (Instant::now() + *gap, next + 1));
                }
            }
        }
    }
    if let Some(rooms) = announced {
        if !rooms.is_empty() {
            // Withdraw the rooms first: browsers apply a record update at once,
            // while a goodbye takes effect only after a second (RFC 6762 10.1).
            let props = txt::encode(&advert.id, &advert.name, serial.wrapping_add(1), &[]);
            if register(&daemon, &instance, &host, advert.port, &props) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if unregister(&daemon, &fullname).await {
            // mdns-sd repeats the goodbye after 120 ms; let it go out before the
            // daemon stops.
            tokio::time::sleep(Duration::from_millis(150)).await;
            tracing::info!("said goodbye on mDNS");
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn register(
    daemon: &ServiceDaemon,
    instance: &str,
    host: &str,
    port: u16,
    props: &[(String, String)],
) -> bool {
    let info = match ServiceInfo::new(SERVICE_TYPE, instance, host, (), port, props) {
        Ok(info) => info,
        Err(err) => {
            tracing::warn!(%err, "cannot build the mDNS record");
            return false;
        }
    };
    let mut info = info.enable_addr_auto();
    info.set_requires_probe(false);
    match daemon.register(info) {
        Ok(()) => {
            tracing::debug!(rooms = props.len().saturating_sub(4), "advertised");
            true
        }
        Err(err) => {
            tracing::warn!(%err, "cannot advertise on mDNS");
            false
        }
    }
}

async fn unregister(daemon: &ServiceDaemon, fullname: &str) -> bool {
    match daemon.unregister(fullname) {
        Ok(status) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), status.recv_async()).await;
            true
        }
        Err(err) => {
            tracing::warn!(%err, "cannot withdraw the mDNS record");
            matches!(err, mdns_sd::Error::DaemonShutdown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_dns_labels() {
        let (instance, host) = names("Ab-_9zZ0aaaa");
        assert_eq!(instance, "lanmeet-Ab-_9zZ0aaaa");
        assert!(host.len() < 63 + 7);
        assert!(
            host.trim_end_matches(".local.")
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        );
    }
}
