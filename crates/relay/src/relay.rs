//! [`Relay`]: binds the listeners, runs the TURN server behind the gates, hands
//! out credentials through [`RelayGrants`] and ends the allocations of people who
//! left.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use lanmeet_core::{IceGrants, IceServer, Members};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use turn::auth::{AuthHandler, generate_auth_key};
use turn::server::Server;
use turn::server::config::{ConnConfig, ServerConfig};
use webrtc_util::Conn;

use crate::accounting::{Accounting, Generator};
use crate::config::RelayConfig;
use crate::credentials::{Credentials, member_of};
use crate::gate::Gate;
use crate::tcp::TcpConn;

/// Why a relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("could not bind the relay on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the TURN server did not start: {0}")]
    Server(String),
}

/// What the gates, the generators, the auth handler and the grants share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: RelayConfig,
    credentials: Credentials,
    members: OnceLock<Members>,
    advertise: RwLock<Option<IpAddr>>,
    port: u16,
}

impl Shared {
    /// The address relayed candidates carry, once known.
    pub(crate) fn advertised(&self) -> Option<IpAddr> {
        *self.advertise.read().unwrap_or_else(|p| p.into_inner())
    }

    fn is_member(&self, member: &str) -> bool {
        self.members.get().is_some_and(|m| m.contains(member))
    }

    /// The long-term key of `username` if it is a valid, unexpired credential of
    /// someone who is a member now.
    pub(crate) fn key_for(&self, username: &str) -> Option<Vec<u8>> {
        let member = member_of(username)?;
        if !self.is_member(member) {
            return None;
        }
        let password = self.credentials.password(username);
        Some(generate_auth_key(username, &self.config.realm, &password))
    }
}

/// The TURN server asks this on every authenticated request: the same check as
/// the gate (the gate keeps strangers from reaching the server at all).
struct Auth(Arc<Shared>);

impl AuthHandler for Auth {
    fn auth_handle(
        &self,
        username: &str,
        _realm: &str,
        _src: SocketAddr,
    ) -> Result<Vec<u8>, turn::Error> {
        self.0
            .key_for(username)
            .ok_or_else(|| turn::Error::Other("not a member".into()))
    }
}

/// The [`IceGrants`] a node carries: TURN URLs (UDP and TCP) with fresh
/// credentials for each member's `welcome`.
#[derive(Debug)]
pub struct RelayGrants(Arc<Shared>);

impl IceGrants for RelayGrants {
    fn grant(&self, member: &str) -> Vec<IceServer> {
        let Some(ip) = self.0.advertised() else {
            return Vec::new();
        };
        let host = match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let (username, credential) = self
            .0
            .credentials
            .issue(member, self.0.config.credential_ttl);
        vec![IceServer {
            urls: vec![
                format!("turn:{host}:{}?transport=udp", self.0.port),
                format!("turn:{host}:{}?transport=tcp", self.0.port),
            ],
            username: Some(username),
            credential: Some(credential),
        }]
    }

    fn attach(&self, members: Members, lan_host: IpAddr) {
        let _ = self.0.members.set(members);
        let mut advertise = self.0.advertise.write().unwrap_or_else(|p| p.into_inner());
        if advertise.is_none() && !lan_host.is_unspecified() {
            *advertise = Some(lan_host);
        }
    }
}

/// A running relay: a TURN server on one port, UDP and TCP.
pub struct Relay {
    shared: Arc<Shared>,
    server: Arc<Server>,
    books: Arc<Accounting>,
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("udp", &self.udp_addr)
            .field("tcp", &self.tcp_addr)
            .finish()
    }
}

impl Relay {
    /// Binds UDP and TCP on `config.port` (with 0, one free port for both) and
    /// starts the TURN server. Nobody can use it until [`RelayGrants::attach`]
    /// (the node's start) says who the members are.
    pub async fn start(config: RelayConfig) -> Result<Relay, RelayError> {
        let (udp, tcp) = bind_pair(config.bind, config.port).await?;
        let udp_addr = local(&udp, config.bind, config.port)?;
        let tcp_addr = tcp.local_addr().map_err(|source| RelayError::Bind {
            addr: udp_addr,
            source,
        })?;
        let advertise = config
            .advertise
            .or_else(|| (!config.bind.is_unspecified()).then_some(config.bind));
        let shared = Arc::new(Shared {
            credentials: Credentials::random(),
            members: OnceLock::new(),
            advertise: RwLock::new(advertise),
            port: udp_addr.port(),
            config,
        });
        let books = Arc::new(Accounting::new(&shared.config));
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let tcp_conn = TcpConn::serve(tcp, shared.config.max_tcp_connections, stop.clone(), &tasks)
            .map_err(|source| RelayError::Bind {
                addr: udp_addr,
                source,
            })?;
        let listeners: [Arc<dyn Conn + Send + Sync>; 2] = [Arc::new(udp), Arc::new(tcp_conn)];
        let conn_configs = listeners
            .into_iter()
            .map(|inner| {
                let pending = Arc::new(Mutex::new(None));
                ConnConfig {
                    conn: Arc::new(Gate::new(
                        inner,
                        shared.clone(),
                        books.clone(),
                        pending.clone(),
                    )),
                    relay_addr_generator: Box::new(Generator {
                        books: books.clone(),
                        pending,
                        bind: shared.config.bind,
                        advertise: shared.clone(),
                        bytes_per_sec: shared.config.allocation_bytes_per_sec,
                    }),
                }
            })
            .collect();
        let server = Server::new(ServerConfig {
            conn_configs,
            realm: shared.config.realm.clone(),
            auth_handler: Arc::new(Auth(shared.clone())),
            channel_bind_timeout: std::time::Duration::ZERO,
            alloc_close_notify: None,
        })
        .await
        .map_err(|e| RelayError::Server(e.to_string()))?;
        let server = Arc::new(server);
        tasks.spawn(sweep(
            shared.clone(),
            books.clone(),
            server.clone(),
            stop.clone(),
        ));
        tracing::info!(udp = %udp_addr, tcp = %tcp_addr, "relay listening");
        Ok(Relay {
            shared,
            server,
            books,
            udp_addr,
            tcp_addr,
            stop,
            tasks,
        })
    }

    /// The hook to put in `NodeConfig::ice_grants`.
    pub fn grants(&self) -> Arc<RelayGrants> {
        Arc::new(RelayGrants(self.shared.clone()))
    }

    /// The UDP listener.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The TCP listener (same port as UDP).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// Live allocations now.
    pub fn allocations(&self) -> usize {
        self.books.total()
    }

    /// Ends every allocation and stops listening.
    pub async fn close(self) {
        self.stop.cancel();
        if let Err(e) = self.server.close().await {
            tracing::debug!("relay close: {e}");
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// Binds UDP, then TCP on the same port; with port 0 retries a few times for a
/// port free for both.
async fn bind_pair(bind: IpAddr, port: u16) -> Result<(UdpSocket, TcpListener), RelayError> {
    let mut last = None;
    for _ in 0..16 {
        let addr = SocketAddr::new(bind, port);
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| RelayError::Bind { addr, source })?;
        let udp_addr = local(&udp, bind, port)?;
        match TcpListener::bind(udp_addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(source) if port == 0 => last = Some(source),
            Err(source) => {
                return Err(RelayError::Bind {
                    addr: udp_addr,
                    source,
                });
            }
        }
    }
    Err(RelayError::Bind {
        addr: SocketAddr::new(bind, port),
        source: last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()),
    })
}

fn local(udp: &UdpSocket, bind: IpAddr, port: u16) -> Result<SocketAddr, RelayError> {
    udp.local_addr().map_err(|source| RelayError::Bind {
        addr: SocketAddr::new(bind, port),
        source,
    })
}

/// Ends the allocations of members who are no longer in a room (left, dropped
/// for good, room closed), every `sweep_interval`.
async fn sweep(
    shared: Arc<Shared>,
    books: Arc<Accounting>,
    server: Arc<Server>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(shared.config.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        for (member, usernames) in books.holders() {
            if shared.is_member(&member) {
                continue;
            }
            tracing::debug!(member, "ending the allocations of someone who left");
            for username in usernames {
                if let Err(e) = server.delete_allocations_by_username(username).await {
                    tracing::debug!("relay sweep: {e}");
                }
            }
        }
    }
}
