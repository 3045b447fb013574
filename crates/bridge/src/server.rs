//! The bridge's loopback listener: who may connect, and the sessions it runs.
//!
//! A page reaches the bridge at `ws://127.0.0.1:PORT/bridge?secret=SECRET`. Two checks
//! guard it, both at the WebSocket handshake, before anything else is read:
//!
//! - **Origin.** Browsers always send it on a WebSocket, and a page cannot forge it: it
//!   must be one of its node's own origins ([`Bridge::allow_origins`]), so another web
//!   page the person visits cannot drive the bridge.
//! - **Secret.** 32 random bytes made at start, which the page gets from its own node
//!   (`GET /api/bridge` on the loopback listener, itself refused to foreign origins):
//!   a local program that does not know it cannot use the bridge either.
//!
//! A refused handshake gets HTTP 403 with `{"error":{"code","message"}}`
//! (`forbidden-origin` or `bad-secret`); a native client reads it, a browser sees the
//! WebSocket fail.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info};

use crate::error::BridgeError;
use crate::outbox::OutboxStats;
use crate::peer::PeerDefaults;
use crate::rtp_out::VideoClock;
use crate::session::{self, MAX_FRAME};

/// Pages connected at once at most (one window, plus reloads overlapping).
pub const MAX_SESSIONS: usize = 8;
/// Time for the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Messages above this end the socket (tungstenite's own limit). Below it, the session
/// answers oversized messages with `too-large` and goes on.
const HARD_MESSAGE_LIMIT: usize = 4 * MAX_FRAME;

/// How the bridge is set up.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Address of the WebSocket listener: loopback only (any port with 0).
    pub listen: SocketAddr,
    /// Local address the peer connections' UDP sockets bind: their host candidate.
    /// The node's LAN address for a real call; 127.0.0.1 in tests.
    pub peer_addr: IpAddr,
    /// Where more host addresses come from, read at each new connection (see
    /// [`Bridge::bind_lan_addresses`]); none: `peer_addr` alone.
    pub more_peer_addrs: Option<AddressSource>,
    /// Delay between ICE connectivity checks.
    pub ice_check_interval: Duration,
    /// Which time video RTP timestamps follow (see `rtp_out`); from
    /// `LANMEET_BRIDGE_VIDEO_CLOCK` (`sent`, `capture`, `durations`) when set, for the
    /// benchmark's comparisons.
    pub video_clock: VideoClock,
}

/// A function giving the machine's LAN addresses as they are now (the node's
/// `lan_addresses`).
#[derive(Clone)]
pub struct AddressSource(pub Arc<dyn Fn() -> Vec<IpAddr> + Send + Sync>);

impl std::fmt::Debug for AddressSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressSource")
    }
}

impl BridgeConfig {
    /// Listens on 127.0.0.1 (any port); peers bind `peer_addr`.
    pub fn new(peer_addr: IpAddr) -> Self {
        BridgeConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            peer_addr,
            more_peer_addrs: None,
            ice_check_interval: Duration::from_millis(20),
            video_clock: std::env::var("LANMEET_BRIDGE_VIDEO_CLOCK")
                .ok()
                .and_then(|v| VideoClock::parse(v.trim()))
                .unwrap_or_default(),
        }
    }
}

/// Gauges and counters of a running bridge (tests read them to prove teardown and
/// bounds).
#[derive(Debug, Default)]
pub struct BridgeStats {
    /// Page sessions open now.
    pub sessions: AtomicUsize,
    /// Peer connection tasks alive now.
    pub peers: AtomicUsize,
    /// Handshakes refused (bad Origin or secret, too many sessions).
    pub refused: AtomicU64,
    /// Media frames received from pages.
    pub page_frames: AtomicU64,
    page: Mutex<Vec<Arc<OutboxStats>>>,
}

impl BridgeStats {
    pub(crate) fn attach_page(&self, s: Arc<OutboxStats>) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut v) = self.page.lock() {
            v.push(s);
        }
    }

    pub(crate) fn detach_page(&self) {
        self.sessions.fetch_sub(1, Ordering::Relaxed);
    }

    /// Media frames dropped (all sessions so far) because a page did not read them.
    pub fn frames_dropped_for_pages(&self) -> u64 {
        self.page.lock().map_or(0, |v| {
            v.iter()
                .map(|s| s.frames_dropped.load(Ordering::Relaxed))
                .sum()
        })
    }

    /// The largest media backlog any page session had, in bytes.
    pub fn max_page_backlog(&self) -> usize {
        self.page.lock().map_or(0, |v| {
            v.iter()
                .map(|s| s.max_media_backlog.load(Ordering::Relaxed))
                .max()
                .unwrap_or(0)
        })
    }
}

/// A bound bridge, not yet serving.
pub struct Bridge {
    listener: TcpListener,
    addr: SocketAddr,
    secret: String,
    origins: Arc<Mutex<Vec<String>>>,
    config: BridgeConfig,
    stats: Arc<BridgeStats>,
}

impl Bridge {
    /// Binds the loopback listener and makes the secret.
    pub async fn bind(config: BridgeConfig) -> Result<Bridge, BridgeError> {
        if !config.listen.ip().is_loopback() {
            return Err(BridgeError::NotLoopback(config.listen.ip()));
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| BridgeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| BridgeError::Bind {
            addr: config.listen,
            source,
        })?;
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        Ok(Bridge {
            listener,
            addr,
            secret,
            origins: Arc::new(Mutex::new(Vec::new())),
            config,
            stats: Arc::new(BridgeStats::default()),
        })
    }

    /// The URL pages connect to (without the secret).
    pub fn url(&self) -> String {
        format!("ws://{}/bridge", self.addr)
    }

    /// The secret pages must present (`?secret=`).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Sets the address the peer connections bind (their host candidate), once known
    /// (e.g. after the node found its LAN address).
    pub fn set_peer_addr(&mut self, addr: IpAddr) {
        self.config.peer_addr = addr;
    }

    /// Binds each new connection on every address `source` gives at that moment too,
    /// besides the peer address: one host candidate per LAN interface, as a browser
    /// offers. Why: the peer address is picked when the app starts; a room reached
    /// through another interface, or over a network that came up later, needs a
    /// candidate there. A bridge whose peer address is loopback (tests) ignores it.
    pub fn bind_lan_addresses(&mut self, source: impl Fn() -> Vec<IpAddr> + Send + Sync + 'static) {
        self.config.more_peer_addrs = Some(AddressSource(Arc::new(source)));
    }

    /// Sets the origins allowed to connect: the node's own pages, e.g.
    /// `http://127.0.0.1:PORT` and `http://localhost:PORT`. None until set.
    pub fn allow_origins(&self, origins: Vec<String>) {
        if let Ok(mut o) = self.origins.lock() {
            *o = origins;
        }
    }

    /// A bridge for a node's own pages on this machine (what `lanmeet host --bridge` and
    /// the desktop app both run): listener and peers on loopback until
    /// [`Bridge::serve_node_pages`] says where peers bind.
    pub async fn bind_loopback() -> Result<Bridge, BridgeError> {
        Bridge::bind(BridgeConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST))).await
    }

    /// Starts serving the pages of the node whose loopback UI listens on `ui_port`: the
    /// only origins let in are `http://127.0.0.1:PORT` and `http://localhost:PORT` (a page
    /// of any other site on this machine is refused). Peers bind `peer_addr` first and
    /// every address `lan` gives when each connection is made.
    pub fn serve_node_pages(
        mut self,
        ui_port: u16,
        peer_addr: IpAddr,
        lan: impl Fn() -> Vec<IpAddr> + Send + Sync + 'static,
    ) -> BridgeHandle {
        self.set_peer_addr(peer_addr);
        self.bind_lan_addresses(lan);
        self.allow_origins(vec![
            format!("http://127.0.0.1:{ui_port}"),
            format!("http://localhost:{ui_port}"),
        ]);
        info!(url = %self.url(), %peer_addr, "WebRTC bridge for the node's pages");
        self.spawn()
    }

    /// Starts serving; the handle stops it.
    pub fn spawn(self) -> BridgeHandle {
        let cancel = CancellationToken::new();
        let stats = self.stats.clone();
        let origins = self.origins.clone();
        let url = self.url();
        let task = tokio::spawn(serve(self, cancel.clone()));
        BridgeHandle {
            cancel,
            task,
            stats,
            origins,
            url,
        }
    }
}

/// A running bridge.
pub struct BridgeHandle {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    stats: Arc<BridgeStats>,
    origins: Arc<Mutex<Vec<String>>>,
    url: String,
}

impl BridgeHandle {
    /// Its counters.
    pub fn stats(&self) -> &Arc<BridgeStats> {
        &self.stats
    }

    /// The URL pages connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the allowed origins (see [`Bridge::allow_origins`]).
    pub fn allow_origins(&self, origins: Vec<String>) {
        if let Ok(mut o) = self.origins.lock() {
            *o = origins;
        }
    }

    /// Stops accepting, ends every session (and its peers) and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

async fn serve(bridge: Bridge, cancel: CancellationToken) {
    info!(url = %bridge.url(), "bridge listening");
    let tracker = TaskTracker::new();
    let defaults = PeerDefaults {
        bind_addr: bridge.config.peer_addr,
        more_addrs: bridge.config.more_peer_addrs.clone(),
        ice_check_interval: bridge.config.ice_check_interval,
        video_clock: bridge.config.video_clock,
    };
    let secret = Arc::new(bridge.secret.clone());
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            a = bridge.listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                debug!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ctx = Handshake {
            secret: secret.clone(),
            origins: bridge.origins.clone(),
            stats: bridge.stats.clone(),
        };
        let defaults = defaults.clone();
        let stats = bridge.stats.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            let Some(ws) = accept(stream, ctx).await else {
                return;
            };
            debug!(%peer, "page connected");
            session::run(ws, defaults, stats, cancel).await;
            debug!(%peer, "page session ended");
        });
    }
    tracker.close();
    tracker.wait().await;
}

struct Handshake {
    secret: Arc<String>,
    origins: Arc<Mutex<Vec<String>>>,
    stats: Arc<BridgeStats>,
}

// tungstenite's callback type returns the whole HTTP response as its error.
#[allow(clippy::result_large_err)]
async fn accept(
    stream: TcpStream,
    ctx: Handshake,
) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    let mut ws_config = WebSocketConfig::default();
    ws_config.max_message_size = Some(HARD_MESSAGE_LIMIT);
    ws_config.max_frame_size = Some(HARD_MESSAGE_LIMIT);
    let stats = ctx.stats.clone();
    let check = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match check_request(req, &ctx) {
            Ok(()) => Ok(resp),
            Err((status, code, message)) => {
                ctx.stats.refused.fetch_add(1, Ordering::Relaxed);
                let body =
                    serde_json::json!({"error": {"code": code, "message": message}}).to_string();
                let mut r = ErrorResponse::new(Some(body));
                *r.status_mut() = status;
                if let Ok(v) = header::HeaderValue::from_str("application/json") {
                    r.headers_mut().insert(header::CONTENT_TYPE, v);
                }
                Err(r)
            }
        }
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(ws_config));
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => Some(ws),
        Ok(Err(e)) => {
            debug!("bridge handshake refused or failed: {e}");
            None
        }
        Err(_) => {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// The handshake's checks; an error is (status, code, message).
fn check_request(
    req: &Request,
    ctx: &Handshake,
) -> Result<(), (StatusCode, &'static str, &'static str)> {
    if req.uri().path() != "/bridge" {
        return Err((
            StatusCode::NOT_FOUND,
            "not-found",
            "the bridge is at /bridge",
        ));
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let origin_ok = origin.is_some_and(|o| {
        ctx.origins
            .lock()
            .is_ok_and(|allowed| allowed.iter().any(|a| a == o))
    });
    if !origin_ok {
        return Err((
            StatusCode::FORBIDDEN,
            "forbidden-origin",
            "the bridge serves only pages of its own node",
        ));
    }
    let secret = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap_or("");
    if !same_secret(secret.as_bytes(), ctx.secret.as_bytes()) {
        return Err((
            StatusCode::FORBIDDEN,
            "bad-secret",
            "wrong or missing bridge secret (ask the node: GET /api/bridge)",
        ));
    }
    if ctx.stats.sessions.load(Ordering::Relaxed) >= MAX_SESSIONS {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "too-many-sessions",
            "too many pages use the bridge at once",
        ));
    }
    Ok(())
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abcd", b"abcd"));
        assert!(!same_secret(b"abcd", b"abce"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }
}
