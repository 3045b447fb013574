//! The two HTTP listeners and what each may serve (docs/PROTOCOL.md, "Listeners").
//!
//! The *local* router (127.0.0.1) serves the UI, the control API and `/ws`; its
//! `/api/*` refuses foreign `Host`/`Origin` headers, because any web page the user
//! visits can make the browser send requests to loopback. The *LAN* router serves
//! only `/ws`, health and the rate-limited room check; everything else is 404.
//! Over TLS (browser guests, [ext]) the LAN listener serves the same, plus the
//! UI's files: a guest's page, and nothing of the control API.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::budget::{Connections, Side, SocketRefused, SocketSlots};
use crate::codes::RoomCode;
use crate::connection::{self, SocketContext};
use crate::json_errors::{error_response, json_errors};
use crate::netif::LanAddress;
use crate::ratelimit::AddressLimiter;
use crate::service::{RoomRequest, RoomService};
use crate::static_ui;

/// What every handler of both listeners, and every socket task, shares.
pub(crate) struct AppState {
    pub(crate) rooms: RoomService,
    /// This node's random id (also in its mDNS record).
    pub(crate) id: String,
    pub(crate) local_port: u16,
    /// The LAN addresses found at start (`GET /api/node`).
    pub(crate) addresses: Vec<LanAddress>,
    /// `HEAD /api/rooms/{code}` on the LAN listener, per source address: asking
    /// must not be a practical way to guess room codes.
    pub(crate) room_checks: AddressLimiter,
    /// Every request on the LAN listener, per source address ([`limit_lan`]).
    pub(crate) lan_requests: AddressLimiter,
    /// Peer-socket slots.
    pub(crate) sockets: Arc<SocketSlots>,
    /// Connection budgets of both listeners.
    pub(crate) connections: Arc<Connections>,
    pub(crate) socket_ctx: SocketContext,
    pub(crate) tasks: TaskTracker,
    /// How browser guests reach this node (`GET /api/node`), when they can.
    pub(crate) guest: Option<GuestAccess>,
    /// The WebRTC bridge beside the node, for its own pages (`GET /api/bridge`).
    pub(crate) bridge: Option<crate::config::BridgeInfo>,
}

/// What a browser guest needs: the HTTPS origin of the LAN listener and the
/// fingerprint of its certificate, to compare with what the browser shows.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct GuestAccess {
    /// `https://HOST:PORT`.
    pub(crate) origin: String,
    /// SHA-256 of the certificate, `AB:CD:…`.
    pub(crate) fingerprint: String,
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

impl AppState {
    pub(crate) fn stats(&self) -> NodeStats {
        let rooms = self.rooms.stats();
        NodeStats {
            sockets: self.sockets.open(),
            connections: self.connections.open(),
            joined: rooms.joined,
            held: rooms.held,
            rooms: rooms.rooms,
            tasks: self.tasks.len(),
        }
    }
}

/// An error answer of the control API: `{"error":{"code","message"}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad-request",
            message: message.into(),
        }
    }
    fn forbidden(message: &str) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        }
    }
    fn room_not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "room-not-found",
            message: "no room with that code".into(),
        }
    }
    fn not_found() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not-found",
            message: "no such endpoint".into(),
        }
    }
    fn unavailable(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

/// Routes of the loopback listener.
pub(crate) fn local_router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/node", get(node_info))
        .route("/stats", get(stats))
        .route("/rooms", get(list_rooms).post(create_room))
        .route("/rooms/{code}", head(check_room).delete(close_room))
        .route("/lan/rooms", get(lan_rooms))
        .route("/lan/resolve/{code}", get(resolve))
        .route("/qr", get(qr))
        .route("/bridge", get(bridge_info))
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), guard_local))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(middleware::from_fn(json_errors));
    Router::new()
        .nest("/api", api)
        .route("/ws", get(upgrade).layer(middleware::from_fn(json_errors)))
        .fallback(static_ui::serve)
        .with_state(state)
}

/// Routes of the LAN listener.
pub(crate) fn lan_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/api/health", get(health))
        .route("/api/rooms/{code}", head(lan_check_room))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), limit_lan))
        .with_state(state)
}

/// Bounds the requests one source address makes of the LAN listener (plain or
/// HTTPS): past the budget, 429 `rate-limited` and the connection closed. Without
/// it a host could keep the node answering tens of thousands of requests a second
/// on a few kept-alive connections, which the connection budgets do not see. The
/// peer-socket upgrade is left to the socket budgets: it ends the connection's
/// requests, and a room's joins come in bursts of their own.
async fn limit_lan(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path() == "/ws"
        || state
            .lan_requests
            .allow(peer.ip(), tokio::time::Instant::now().into_std())
    {
        return next.run(req).await;
    }
    let mut refused = error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "too many requests from this address; try again in a second",
    );
    let headers = refused.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    refused
}

/// Routes of the LAN listener over TLS: the LAN routes, and the UI's files for
/// browser guests. The rest of `/api` is 404 as on the plain LAN listener.
pub(crate) fn guest_router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/rooms/{code}", head(lan_check_room))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn(json_errors));
    Router::new()
        .nest("/api", api)
        .route("/ws", get(upgrade).layer(middleware::from_fn(json_errors)))
        .fallback(static_ui::serve)
        .layer(middleware::from_fn_with_state(state.clone(), limit_lan))
        .with_state(state)
}

/// Refuses control-API requests that did not come from our own page (DNS
/// rebinding: foreign `Host`; cross-site requests: foreign `Origin`).
async fn guard_local(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let port = state.local_port;
    let host_ok = header_str(req.headers(), header::HOST)
        .is_some_and(|h| h == format!("127.0.0.1:{port}") || h == format!("localhost:{port}"));
    if !host_ok {
        return ApiError::forbidden("the control API answers only requests addressed to 127.0.0.1")
            .into_response();
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin_ok = origin.to_str().is_ok_and(|o| {
            o == format!("http://127.0.0.1:{port}") || o == format!("http://localhost:{port}")
        });
        if !origin_ok {
            return ApiError::forbidden("the control API answers only this node's own pages")
                .into_response();
        }
    }
    next.run(req).await
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")}))
}

async fn node_info(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let addresses: Vec<String> = state.addresses.iter().map(|a| a.ip.to_string()).collect();
    Json(json!({
        "id": state.id,
        "name": state.rooms.node_name(),
        "lanPort": state.rooms.lan_port(),
        "localPort": state.local_port,
        "addresses": addresses,
        "lanHost": state.rooms.lan_host().to_string(),
        "discovery": state.rooms.discovery_enabled(),
        "guest": state.guest,
    }))
}

/// `GET /api/bridge` [ext]: where this node's pages reach its WebRTC bridge and the
/// secret it wants (docs/BRIDGE.md). Behind `guard_local` like the rest of the control
/// API, so another web page cannot read the secret; never cached.
async fn bridge_info(State(state): State<Arc<AppState>>) -> Response {
    match &state.bridge {
        Some(info) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"url": info.url, "secret": info.secret})),
        )
            .into_response(),
        None => ApiError {
            status: StatusCode::NOT_FOUND,
            code: "no-bridge",
            message: "this node runs without a WebRTC bridge".into(),
        }
        .into_response(),
    }
}

async fn stats(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(state.stats()).unwrap_or_default())
}

async fn list_rooms(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let rooms: Vec<_> = state
        .rooms
        .list()
        .into_iter()
        .map(|r| {
            json!({"code": r.code, "name": r.name, "listed": r.listed, "capacity": r.capacity,
                   "peers": r.peers, "locked": r.locked})
        })
        .collect();
    Json(json!(rooms))
}

async fn create_room(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: RoomRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RoomRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let created = state.rooms.create(request).map_err(|e| match e {
        crate::NodeError::Settings(m) => ApiError::bad_request(m),
        other => ApiError::unavailable(other.to_string()),
    })?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn parse_code(raw: &str) -> Result<RoomCode, ApiError> {
    RoomCode::parse(raw).map_err(|_| ApiError::room_not_found())
}

async fn close_room(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let code = parse_code(&code)?;
    if state.rooms.close(code) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::room_not_found())
    }
}

/// 204 if the room is hosted here, else 404 (a path that does not even decode
/// is no room code either).
async fn check_room(
    State(state): State<Arc<AppState>>,
    code: Result<Path<String>, PathRejection>,
) -> StatusCode {
    let Ok(Path(code)) = code else {
        return StatusCode::NOT_FOUND;
    };
    match RoomCode::parse(&code) {
        Ok(code) if state.rooms.hosts(code) => StatusCode::NO_CONTENT,
        _ => StatusCode::NOT_FOUND,
    }
}

async fn lan_check_room(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    code: Result<Path<String>, PathRejection>,
) -> StatusCode {
    if !state
        .room_checks
        .allow(peer.ip(), tokio::time::Instant::now().into_std())
    {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    check_room(State(state), code).await
}

async fn lan_rooms(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!(state.rooms.lan_rooms()))
}

async fn resolve(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = parse_code(&code)?;
    match state.rooms.resolve(code).await {
        Some(ws) => Ok(Json(json!({"code": code, "ws": ws}))),
        None => Err(ApiError::room_not_found()),
    }
}

/// The query of `GET /api/qr`.
#[derive(serde::Deserialize)]
struct QrQuery {
    text: String,
}

/// The longest text `GET /api/qr` draws: a guest link is far shorter, and
/// bounding it bounds the work of one request.
const QR_MAX_TEXT: usize = 1024;

/// `GET /api/qr?text=...`: the text as a QR code in SVG, so the UI can show a
/// phone its guest link without any network (docs/PROTOCOL.md, "Guests over
/// HTTPS").
async fn qr(
    query: Result<axum::extract::Query<QrQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(axum::extract::Query(QrQuery { text })) = query else {
        return Err(ApiError::bad_request("say what to draw: ?text=..."));
    };
    if text.is_empty() || text.len() > QR_MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "the text must be 1 to {QR_MAX_TEXT} bytes"
        )));
    }
    let code = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ApiError::bad_request(format!("cannot draw that text: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// `GET /ws`: any Origin may connect (other nodes' UIs do); a room code is what
/// lets a socket in.
async fn upgrade(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(side): Extension<Side>,
    ws: WebSocketUpgrade,
) -> Response {
    let limits = &state.socket_ctx.limits;
    let slot = match state.sockets.admit(side, peer.ip()) {
        Ok(slot) => slot,
        Err(SocketRefused::Full) => {
            return ApiError::unavailable("this node has too many open sockets; try again later")
                .into_response();
        }
        Err(SocketRefused::TooManyUnjoined) => {
            return ApiError::unavailable(
                "too many sockets that have not joined a room yet; try again later",
            )
            .into_response();
        }
    };
    let ctx = state.socket_ctx.clone();
    let tasks = state.tasks.clone();
    ws.max_message_size(limits.max_message)
        .max_frame_size(limits.max_message)
        // Small buffers: most sockets are idle and carry small frames, and the
        // defaults (128 KiB each) would cost far more than the socket's state.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(limits.max_message * 2 + 64 * 1024)
        .on_upgrade(move |socket| {
            tasks.track_future(connection::serve(socket, ctx, peer.ip(), slot))
        })
}
