//! A running node: two listeners, the room registry, and a supervisor that turns
//! the caller's cancellation into a clean shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::budget::{self, Connections, Side, SocketSlots};
use crate::codes::RoomCode;
use crate::config::NodeConfig;
use crate::connection::SocketContext;
use crate::discovery::{Advert, Discovery};
use crate::error::NodeError;
use crate::guest_tls;
use crate::http::{self, AppState, GuestAccess, NodeStats};
use crate::ice::{IceSource, MemberCheck, Members};
use crate::listener::{self, Guests, Listener};
use crate::netif;
use crate::ratelimit::AddressLimiter;
use crate::registry::Registry;
use crate::rooms::{Rooms, RoomsConfig};
use crate::service::{RoomCreated, RoomRequest, RoomService};

/// A running node. Dropping it does not stop it: cancel the token given to
/// [`Node::start`], then await [`Node::stopped`].
pub struct Node {
    shared: Arc<AppState>,
    local_addr: SocketAddr,
    lan_addr: SocketAddr,
    lan_bind: IpAddr,
    interfaces: Vec<String>,
    supervisor: JoinHandle<()>,
    /// Kept alive for as long as the node: [`Members`] handles hold it weakly.
    _member_check: MemberCheck,
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

        // A data directory that cannot hold the certificate costs the browser
        // guests, not the calls between installed nodes: warn and go on.
        let guest_tls = config.data_dir.as_deref().and_then(|dir| {
            let mut names: Vec<_> = addresses.iter().map(|a| a.ip).collect();
            if !names.contains(&lan_host) && !lan_host.is_unspecified() {
                names.push(lan_host);
            }
            guest_tls::load_or_create(dir, &names)
                .inspect_err(|err| {
                    tracing::warn!(%err, "browser guests cannot join: no HTTPS on the LAN port");
                })
                .ok()
        });
        let guest = guest_tls.as_ref().map(|tls| GuestAccess {
            origin: format!("https://{}", netif::host_port(lan_host, lan_addr.port())),
            fingerprint: tls.fingerprint.clone(),
        });

        let tasks = TaskTracker::new();
        let sockets_stop = CancellationToken::new();
        let registry = Registry::new(
            Rooms::new(RoomsConfig::from(&*limits)),
            tasks.clone(),
            shutdown.clone(),
        );
        let member_check = registry.member_check();
        registry.set_ice(IceSource {
            fixed: config.ice_servers.clone(),
            grants: config.ice_grants.clone(),
        });
        if let Some(grants) = &config.ice_grants {
            grants.attach(Members::new(&member_check), lan_host);
        }
        let id = crate::registry::random_id(9);
        let discovery = if config.discovery {
            let discovery = Discovery::start(&config.interfaces, Some(id.clone()))
                .map_err(|e| NodeError::Discovery(e.to_string()))?;
            discovery.advertise(Advert {
                id: id.clone(),
                name: config.name.clone(),
                port: lan_addr.port(),
                rooms: registry.watch_rooms(),
            });
            Some(Arc::new(discovery))
        } else {
            None
        };
        let shared = Arc::new(AppState {
            rooms: RoomService::new(
                config.name.clone(),
                limits.clone(),
                registry.clone(),
                (lan_host, lan_addr.port()),
                discovery.clone(),
            ),
            id,
            local_port: local_addr.port(),
            addresses,
            room_checks: AddressLimiter::new(
                limits.room_check_burst,
                limits.room_check_per_sec,
                4096,
            ),
            lan_requests: AddressLimiter::new(
                limits.lan_request_burst,
                limits.lan_requests_per_sec,
                4096,
            ),
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
            guest,
            bridge: config.bridge.clone(),
        });

        let guests = guest_tls.map(|tls| Guests {
            tls,
            router: http::guest_router(shared.clone()),
        });
        for (tcp, side, router, guests) in [
            (local, Side::Local, http::local_router(shared.clone()), None),
            (lan, Side::Lan, http::lan_router(shared.clone()), guests),
        ] {
            let listener = Listener {
                side,
                router,
                guests,
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
            lan_bind: config.lan_bind,
            interfaces: config.interfaces.clone(),
            supervisor,
            _member_check: member_check,
        })
    }

    /// The loopback listener (UI, control API, `/ws`).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The LAN listener (`/ws`, health, room checks).
    pub fn lan_addr(&self) -> SocketAddr {
        self.lan_addr
    }

    /// The LAN addresses this node serves, read each time the returned function is
    /// called: the one it binds when it binds one, otherwise every IPv4 address of
    /// the machine's LAN interfaces (those it was told to use, or every real one).
    ///
    /// Why: the WebRTC bridge binds its peers' sockets here for each new connection.
    /// Read once at start, a room on a second interface, or on a network that came
    /// up after the app, would get no reachable host candidate from the window,
    /// where a browser (which gathers on every interface) would.
    pub fn lan_addresses(&self) -> impl Fn() -> Vec<IpAddr> + Send + Sync + 'static {
        let bind = self.lan_bind;
        let interfaces = self.interfaces.clone();
        move || {
            if !bind.is_unspecified() {
                return vec![bind];
            }
            netif::lan_addresses(&interfaces)
                .into_iter()
                .map(|a| a.ip)
                .filter(netif::is_routable_v4)
                .collect()
        }
    }

    /// The UI's URL, `http://127.0.0.1:PORT/`.
    pub fn local_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.local_addr.port())
    }

    /// The LAN listener's URL, `http://HOST:PORT`.
    pub fn lan_url(&self) -> String {
        format!(
            "http://{}",
            netif::host_port(self.shared.rooms.lan_host(), self.lan_addr.port())
        )
    }

    /// The page a browser guest opens to join `code` on this node,
    /// `https://HOST:PORT/?room=CODE`; `None` when the node serves no HTTPS
    /// (no data directory, or the certificate could not be made).
    pub fn guest_url(&self, code: RoomCode) -> Option<String> {
        let guest = self.shared.guest.as_ref()?;
        Some(format!("{}/?room={code}", guest.origin))
    }

    /// The SHA-256 fingerprint of the certificate guests see (`AB:CD:…`), for
    /// the host to read out; `None` without HTTPS.
    pub fn guest_fingerprint(&self) -> Option<&str> {
        Some(self.shared.guest.as_ref()?.fingerprint.as_str())
    }

    /// Opens a room, as `POST /api/rooms` does.
    pub fn create_room(&self, request: RoomRequest) -> Result<RoomCreated, NodeError> {
        self.shared.rooms.create(request)
    }

    /// Closes a room, as `DELETE /api/rooms/{code}` does.
    pub fn close_room(&self, code: RoomCode) -> bool {
        self.shared.rooms.close(code)
    }

    /// The `ws` URL of the node hosting `code` (this one, or with discovery one on
    /// the LAN), as `GET /api/lan/resolve/{code}` does.
    pub async fn resolve(&self, code: RoomCode) -> Option<String> {
        self.shared.rooms.resolve(code).await
    }

    /// Sockets, connections, members, rooms and tasks now (as `GET /api/stats`).
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
