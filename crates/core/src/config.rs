//! Node configuration: every limit and interval of docs/PROTOCOL.md, with its defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::ice::{IceGrants, IceServer};

/// The LAN port a node listens on unless told otherwise.
pub const DEFAULT_LAN_PORT: u16 = 7878;

/// How a node is set up. `Default` gives docs/PROTOCOL.md's defaults.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's display name (shown to others in "Nearby rooms").
    pub name: String,
    /// Port of the loopback listener (UI, control API); 0 = any free port.
    pub local_port: u16,
    /// Port of the LAN listener; 0 = any free port.
    pub lan_port: u16,
    /// Address the LAN listener binds; unspecified = all interfaces.
    pub lan_bind: IpAddr,
    /// Run mDNS discovery. Off for every node outside a network namespace made for
    /// it (tests, benchmarks), because mdns-sd joins multicast groups on every
    /// interface as soon as it starts.
    pub discovery: bool,
    /// Interfaces discovery may use (by name); empty = real LAN interfaces.
    pub interfaces: Vec<String>,
    /// Where the node keeps what must outlive it: the certificate its LAN port
    /// shows browser guests over HTTPS (made here on first start, reused after,
    /// so guests see the same fingerprint). `None`: the LAN port speaks plain
    /// HTTP only, and browsers without lanmeet cannot join.
    pub data_dir: Option<PathBuf>,
    pub limits: Limits,
    /// ICE servers a person set (`lanmeet host --ice-server`): servers they run
    /// themselves, handed to every member in `welcome` after the relay's.
    pub ice_servers: Vec<IceServer>,
    /// Per-member relay credentials for `welcome` (the `lanmeet-relay` crate plugs
    /// in here); `None` = no relay.
    pub ice_grants: Option<Arc<dyn IceGrants>>,
    /// Where this node's pages find a WebRTC bridge (`GET /api/bridge`, docs/BRIDGE.md)
    /// when one runs beside the node; `None` = no bridge. Opaque to the core, which
    /// stays free of WebRTC: it only tells its own pages.
    pub bridge: Option<BridgeInfo>,
}

/// How a page reaches its node's bridge: a loopback WebSocket URL and the secret it
/// must present (docs/BRIDGE.md).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct BridgeInfo {
    /// `ws://127.0.0.1:PORT/bridge`.
    pub url: String,
    /// The secret, given only to this node's own pages.
    pub secret: String,
}

impl std::fmt::Debug for BridgeInfo {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeInfo")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Limits and intervals of the peer socket and the control API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message after reassembling fragments, in bytes.
    pub max_message: usize,
    /// Longest display name, in characters.
    pub max_name: usize,
    /// Capacity of a room when the host does not say.
    pub default_capacity: usize,
    /// Largest capacity a host may choose (a full mesh gets heavy beyond 8).
    pub max_capacity: usize,
    /// How long a dropped participant's id is held for a resume.
    pub grace: Duration,
    /// Signals kept for a held participant.
    pub resume_buffer: usize,
    /// Bytes of signals kept for a held participant (below `send_queue_bytes`, so
    /// a resumed socket can take them all at once).
    pub resume_buffer_bytes: usize,
    /// WebSocket ping interval; two unanswered pings in a row drop the socket.
    pub ping_interval: Duration,
    /// Time from the upgrade to the `join` frame.
    pub join_timeout: Duration,
    /// Token bucket per socket: burst size.
    pub rate_burst: u32,
    /// Token bucket per socket: refill per second.
    pub rate_per_sec: u32,
    /// Frames queued for one socket before it counts as a slow consumer.
    pub send_queue: usize,
    /// Bytes queued for one socket before it counts as a slow consumer.
    pub send_queue_bytes: usize,
    /// Rooms this node hosts at most.
    pub max_rooms: usize,
    /// Open peer sockets at most; more are refused with 503.
    pub max_sockets: usize,
    /// Failed joins (`room-not-found`, `bad-passcode`) a source address may make in
    /// a burst before its joins are answered `rate-limited`: guessing codes or
    /// passcodes over the peer socket must not be practical either.
    pub join_failure_burst: u32,
    /// Failed joins per second a source address gets back.
    pub join_failures_per_sec: u32,
    /// Room checks (`HEAD /api/rooms/{code}` on the LAN listener): burst per
    /// source address, so asking is no practical way to guess codes.
    pub room_check_burst: u32,
    /// Room checks on the LAN listener: refill per second.
    pub room_check_per_sec: u32,
    /// Requests of any kind on the LAN listener (plain and HTTPS): burst per source
    /// address. Past it the request is answered 429 and its connection closed, so a
    /// host cannot keep the node busy with requests on kept-alive connections. A guest's
    /// page loads at most the UI's 45 files at once.
    pub lan_request_burst: u32,
    /// Requests on the LAN listener: refill per second per source address.
    pub lan_requests_per_sec: u32,
    /// How long a clean shutdown waits for sockets to finish their close handshake.
    pub shutdown_timeout: Duration,
    /// Time a connection gets to send a complete request head: counted from the
    /// connection's start and again after each answer, so it is also how long an
    /// idle kept-alive connection stays open. Connections that send nothing, or
    /// their headers a byte at a time, cost the node no longer than this.
    pub header_read_timeout: Duration,
    /// A connection (before any upgrade to a peer socket) on which no byte moved
    /// either way for this long is closed: a client that stops reading its
    /// answers, or sends a body a trickle at a time, cannot hold it forever.
    pub idle_timeout: Duration,
    /// Time a request (reading its body and computing the answer) may take before
    /// it is answered 408.
    pub request_timeout: Duration,
    /// Largest request head (request line and headers) on the LAN listener, in
    /// bytes; a larger one is answered 431. Bounds what a connection can make the
    /// node buffer (times `max_lan_connections`). The local listener allows four
    /// times this: browsers send it the cookies of every local port.
    pub max_request_head: usize,
    /// Open connections on the LAN listener at most (peer sockets included). The
    /// node also keeps this below the process's open-file limit, less
    /// `max_local_connections` and `reserved_files`.
    pub max_lan_connections: usize,
    /// Open connections on the LAN listener from one source address at most.
    pub max_connections_per_address: usize,
    /// Open connections on the local listener at most: its own budget, so the UI
    /// keeps working however many connections the LAN side holds.
    pub max_local_connections: usize,
    /// File descriptors kept for everything but connections (mDNS sockets, the
    /// UI's files, the runtime) when the open-file limit bounds the listeners.
    pub reserved_files: usize,
    /// Peer-socket slots (of `max_sockets`) that only the local listener may use,
    /// so the local UI's own `/ws` works when the LAN side has taken the rest (at
    /// most half of `max_sockets`).
    pub local_sockets_reserved: usize,
    /// Peer sockets on the LAN listener that have not joined a room yet, at most
    /// (and never more than half of what the LAN side may use): the rest is kept
    /// for sockets that have joined.
    pub max_unjoined_sockets: usize,
    /// Peer sockets that have not joined a room yet, per LAN source address.
    pub max_unjoined_per_address: usize,
    /// Byte budget per socket beside the frame budget: burst, in bytes. At least
    /// `max_message`, so every message that fits can pass.
    pub rate_bytes_burst: u32,
    /// Byte budget per socket: refill per second, in bytes. One member cannot
    /// push more than this at the others for long (signaling is small).
    pub rate_bytes_per_sec: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 64 * 1024,
            max_name: 64,
            default_capacity: 8,
            max_capacity: 8,
            grace: Duration::from_secs(15),
            resume_buffer: 256,
            resume_buffer_bytes: 1024 * 1024,
            ping_interval: Duration::from_secs(10),
            join_timeout: Duration::from_secs(5),
            rate_burst: 400,
            rate_per_sec: 200,
            send_queue: 1024,
            send_queue_bytes: 4 * 1024 * 1024,
            max_rooms: 1024,
            max_sockets: 8192,
            join_failure_burst: 20,
            join_failures_per_sec: 1,
            room_check_burst: 20,
            room_check_per_sec: 10,
            lan_request_burst: 300,
            lan_requests_per_sec: 100,
            shutdown_timeout: Duration::from_secs(3),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            max_request_head: 16 * 1024,
            max_lan_connections: 8192,
            max_connections_per_address: 64,
            max_local_connections: 128,
            reserved_files: 64,
            local_sockets_reserved: 64,
            max_unjoined_sockets: 1024,
            max_unjoined_per_address: 16,
            rate_bytes_burst: 512 * 1024,
            rate_bytes_per_sec: 128 * 1024,
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            name: default_node_name(),
            local_port: 0,
            lan_port: DEFAULT_LAN_PORT,
            lan_bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            discovery: true,
            interfaces: Vec::new(),
            data_dir: None,
            limits: Limits::default(),
            ice_servers: Vec::new(),
            ice_grants: None,
            bridge: None,
        }
    }
}

impl NodeConfig {
    /// A node for tests and tools outside a namespace: both listeners on loopback,
    /// any ports, no discovery.
    pub fn loopback() -> Self {
        NodeConfig {
            lan_port: 0,
            lan_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            discovery: false,
            ..NodeConfig::default()
        }
    }
}

/// The machine's host name, else "lanmeet": what friends see in "Nearby rooms".
pub(crate) fn default_node_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().chars().take(64).collect::<String>())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "lanmeet".to_owned())
}
