//! A running node: two listeners, the room registry, and a supervisor that turns
//! the caller's cancellation into a clean shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::budget::{self, Connections, Side, SocketSlots};
use crate::codes::RoomCode;
use crate::config::{Limits, NodeConfig};
use crate::connection::SocketContext;
use crate::discovery::{Advert, Discovery};
use crate::error::NodeError;
use crate::http;
use crate::invite::Invite;
use crate::listener::{self, Listener};
use crate::netif::{self, LanAddress};
use crate::protocol::clean_name;
use crate::ratelimit::AddressLimiter;
use crate::registry::Registry;
use crate::rooms::{RoomSettings, Rooms};

/// What a host asks for when opening a room (`POST /api/rooms`). All optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoomRequest {
    pub name: Option<String>,
    pub listed: Option<bool>,
    pub passcode: Option<String>,
    pub capacity: Option<usize>,
}

/// A room just opened, with what a guest needs to reach it.
#[derive(Debug, Clone, Serialize)]
pub struct RoomCreated {
    pub code: RoomCode,
    pub name: String,
    pub listed: bool,
    pub capacity: usize,
    /// `ws://HOST:LANPORT/ws`, the peer socket guests connect to.
    pub ws: String,
    /// `lanmeet://HOST:LANPORT/CODE`, for networks where discovery cannot help.
    pub invite: Invite,
}

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

/// Counters for `/api/stats`, health checks and tests.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct NodeStats {
    /// Open peer sockets (joined or not).
    pub sockets: usize,
    /// Open connections on both listeners (peer sockets included).
    pub connections: usize,
    /// Participants with a live socket.
    pub joined: usize,
    /// Participants in their grace period.
    pub held: usize,
    pub rooms: usize,
    /// Background tasks: socket tasks, grace timers, listeners.
    pub tasks: usize,
}

/// State shared by both listeners and every socket task.
pub(crate) struct Shared {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) limits: Arc<Limits>,
    pub(crate) registry: Registry,
    pub(crate) local_port: u16,
    pub(crate) lan_port: u16,
    pub(crate) lan_host: IpAddr,
    pub(crate) addresses: Vec<LanAddress>,
    pub(crate) probes: AddressLimiter,
    /// Peer-socket slots.
    pub(crate) sockets: Arc<SocketSlots>,
    /// Connection budgets of both listeners.
    pub(crate) connections: Arc<Connections>,
    pub(crate) socket_ctx: SocketContext,
    pub(crate) tasks: TaskTracker,
    /// mDNS browser and advertiser; `None` with discovery off (then no mDNS
    /// daemon exists at all).
    pub(crate) discovery: Option<Arc<Discovery>>,
}

impl Shared {
    fn ws_url(&self) -> String {
        format!("ws://{}/ws", netif::host_port(self.lan_host, self.lan_port))
    }

    pub(crate) fn discovery_enabled(&self) -> bool {
        self.discovery.is_some()
    }

    pub(crate) fn stats(&self) -> NodeStats {
        let rooms = self.registry.stats();
        NodeStats {
            sockets: self.sockets.open(),
            connections: self.connections.open(),
            joined: rooms.joined,
            held: rooms.held,
            rooms: rooms.rooms,
            tasks: self.tasks.len(),
        }
    }

    pub(crate) fn create_room(&self, request: RoomRequest) -> Result<RoomCreated, NodeError> {
        let limits = &self.limits;
        let capacity = request.capacity.unwrap_or(limits.default_capacity);
        if !(2..=limits.max_capacity).contains(&capacity) {
            return Err(NodeError::Settings(format!(
                "capacity must be between 2 and {}",
                limits.max_capacity
            )));
        }
        let name = match request.name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(clean_name(raw, limits.max_name).ok_or_else(|| {
                NodeError::Settings(format!(
                    "room name must be at most {} characters",
                    limits.max_name
                ))
            })?),
        };
        let passcode = request.passcode.filter(|p| !p.is_empty());
        if passcode.as_ref().is_some_and(|p| p.chars().count() > 128) {
            return Err(NodeError::Settings(
                "passcode must be at most 128 characters".into(),
            ));
        }
        let listed = request.listed.unwrap_or(true);
        let summary = self.registry.create_room(RoomSettings {
            name: name.unwrap_or_default(),
            listed,
            capacity,
            passcode,
        })?;
        Ok(RoomCreated {
            code: summary.code,
            name: summary.name,
            listed,
            capacity,
            ws: self.ws_url(),
            invite: Invite::new(self.lan_host, self.lan_port, summary.code),
        })
    }

    /// Listed rooms on the LAN: the ones hosted here (`local: true`) first, then
    /// those discovery found on other nodes.
    pub(crate) fn lan_rooms(&self) -> Vec<LanRoom> {
        let ws = self.ws_url();
        let mut rooms: Vec<LanRoom> = self
            .registry
            .list()
            .into_iter()
            .filter(|r| r.listed)
            .map(|r| LanRoom {
                code: r.code,
                name: r.name,
                host: self.name.clone(),
                ws: ws.clone(),
                peers: r.peers,
                capacity: r.capacity,
                local: true,
            })
            .collect();
        if let Some(discovery) = &self.discovery {
            for room in discovery.rooms() {
                if !rooms.iter().any(|r| r.code == room.code) {
                    rooms.push(room);
                }
            }
        }
        rooms
    }

    /// The `ws` URL of the node hosting `code`, listed or not: this node, else a
    /// listed room on the LAN, else the node that says it hosts it.
    pub(crate) async fn resolve(&self, code: RoomCode) -> Option<String> {
        if self.registry.contains(code) {
            return Some(self.ws_url());
        }
        match &self.discovery {
            Some(discovery) => discovery.find(code).await,
            None => None,
        }
    }
}

/// A running node. Dropping it does not stop it: cancel the token given to
/// [`Node::start`], then await [`Node::stopped`].
pub struct Node {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    lan_addr: SocketAddr,
    supervisor: JoinHandle<()>,
}

impl Node {
    /// Binds both listeners and starts serving. The node runs until `shutdown` is
    /// cancelled; then every room gets `room-closed`, every socket a close frame,
    /// and [`Node::stopped`] returns once every task has ended.
    pub async fn start(config: NodeConfig, shutdown: CancellationToken) -> Result<Node, NodeError> {
        let limits = Arc::new(config.limits.clone());
        if limits.max_capacity < 2
            || limits.default_capacity > limits.max_capacity
            || limits.default_capacity < 2
        {
            return Err(NodeError::Config(
                "room capacity limits must allow at least 2 people".into(),
            ));
        }
        let open_files = budget::raise_open_file_limit();
        let connections = Arc::new(Connections::new(&limits, open_files));
        let local = bind(SocketAddr::from(([127, 0, 0, 1], config.local_port))).await?;
        let lan = bind(SocketAddr::new(config.lan_bind, config.lan_port)).await?;
        let local_addr = local.local_addr().map_err(|source| NodeError::Bind {
            addr: local_addr_of(&config),
            source,
        })?;
        let lan_addr = lan.local_addr().map_err(|source| NodeError::Bind {
            addr: SocketAddr::new(config.lan_bind, config.lan_port),
            source,
        })?;

        let addresses = netif::lan_addresses(&config.interfaces);
        let lan_host = if config.lan_bind.is_unspecified() {
            netif::preferred(&addresses)
        } else {
            config.lan_bind
        };

        let tasks = TaskTracker::new();
        let sockets_stop = CancellationToken::new();
        let registry = Registry::new(
            Rooms::new(
                limits.grace,
                limits.resume_buffer,
                limits.resume_buffer_bytes,
                limits.max_rooms,
            ),
            tasks.clone(),
            shutdown.clone(),
        );
        let id = crate::registry::random_id(9);
        let discovery = if config.discovery {
            let discovery = Discovery::start(&config.interfaces, Some(id.clone()))
                .map_err(|e| NodeError::Discovery(e.to_string()))?;
            discovery.advertise(Advert {
                id: id.clone(),
                name: config.name.clone(),
                port: lan_addr.port(),
                registry: registry.clone(),
            });
            Some(Arc::new(discovery))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            id,
            name: config.name.clone(),
            limits: limits.clone(),
            registry: registry.clone(),
            local_port: local_addr.port(),
            lan_port: lan_addr.port(),
            lan_host,
            addresses,
            probes: AddressLimiter::new(limits.probe_burst, limits.probe_per_sec, 4096),
            sockets: Arc::new(SocketSlots::new(&limits)),
            connections: connections.clone(),
            socket_ctx: SocketContext {
                registry: registry.clone(),
                limits: limits.clone(),
                stop: sockets_stop.clone(),
                join_failures: Arc::new(AddressLimiter::new(
                    limits.join_failure_burst,
                    limits.join_failures_per_sec,
                    4096,
                )),
            },
            tasks: tasks.clone(),
            discovery: discovery.clone(),
        });

        for (tcp, side, router) in [
            (local, Side::Local, http::local_router(shared.clone())),
            (lan, Side::Lan, http::lan_router(shared.clone())),
        ] {
            let listener = Listener {
                side,
                router,
                connections: connections.clone(),
                limits: limits.clone(),
                tasks: tasks.clone(),
                stop: shutdown.clone(),
            };
            tasks.spawn(listener::run(tcp, listener));
        }
        tracing::info!(local = %local_addr, lan = %lan_addr, host = %lan_host, "node listening");

        let supervisor = {
            let tasks = tasks.clone();
            let timeout = limits.shutdown_timeout;
            tokio::spawn(async move {
                shutdown.cancelled().await;
                // Goodbyes first, so nobody on the LAN tries to join a room that
                // is closing.
                if let Some(discovery) = discovery {
                    discovery.stop().await;
                }
                tracing::info!("shutting down: closing rooms and sockets");
                registry.close_all();
                sockets_stop.cancel();
                tasks.close();
                if tokio::time::timeout(timeout + std::time::Duration::from_secs(2), tasks.wait())
                    .await
                    .is_err()
                {
                    tracing::warn!(left = tasks.len(), "some connections did not close in time");
                }
            })
        };

        Ok(Node {
            shared,
            local_addr,
            lan_addr,
            supervisor,
        })
    }

    /// The loopback listener (UI, control API, `/ws`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The LAN listener (`/ws`, health, room probe).
    pub fn lan_addr(&self) -> SocketAddr {
        self.lan_addr
    }

    /// The address guests are told to use (in `ws` and invites).
    pub fn lan_host(&self) -> IpAddr {
        self.shared.lan_host
    }

    /// The UI's URL, `http://127.0.0.1:PORT/`.
    pub fn local_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.local_addr.port())
    }

    /// The LAN listener's URL, `http://HOST:PORT`.
    pub fn lan_url(&self) -> String {
        format!(
            "http://{}",
            netif::host_port(self.shared.lan_host, self.lan_addr.port())
        )
    }

    /// This node's random id (also in its mDNS record).
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Opens a room, as `POST /api/rooms` does.
    pub fn create_room(&self, request: RoomRequest) -> Result<RoomCreated, NodeError> {
        self.shared.create_room(request)
    }

    /// Closes a room, as `DELETE /api/rooms/{code}` does.
    pub fn close_room(&self, code: RoomCode) -> bool {
        self.shared.registry.close_room(code)
    }

    /// The `ws` URL of the node hosting `code` (this one, or with discovery one on
    /// the LAN), as `GET /api/lan/resolve/{code}` does.
    pub async fn resolve(&self, code: RoomCode) -> Option<String> {
        self.shared.resolve(code).await
    }

    pub fn stats(&self) -> NodeStats {
        self.shared.stats()
    }

    /// Waits until the node has shut down (after its token was cancelled).
    pub async fn stopped(self) {
        let _ = self.supervisor.await;
    }
}

fn local_addr_of(config: &NodeConfig) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], config.local_port))
}

/// Binds with a deeper accept backlog than the default 128, so a burst of joins
/// (a whole class opening the app at once) is not met with SYN retries; and with
/// SO_REUSEADDR, so a restarted node gets its port back at once.
async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeError> {
    let err = |source| NodeError::Bind { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    #[cfg(unix)]
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}
