//! The two HTTP listeners and what each may serve (PROTOCOL.md, "Listeners").
//!
//! The *local* router (127.0.0.1) serves the UI, the control API and `/ws`; its
//! `/api/*` refuses foreign `Host`/`Origin` headers, because any web page the user
//! visits can make the browser send requests to loopback. The *LAN* router serves
//! only `/ws`, health and the rate-limited room probe; everything else is 404.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head};
use axum::{Json, Router};
use serde_json::json;

use crate::budget::{Side, SocketRefused};
use crate::codes::RoomCode;
use crate::connection;
use crate::json_errors::json_errors;
use crate::node::{RoomRequest, Shared};
use crate::static_ui;

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

type AppState = Arc<Shared>;

/// Routes of the loopback listener.
pub(crate) fn local_router(shared: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/node", get(node_info))
        .route("/stats", get(stats))
        .route("/rooms", get(list_rooms).post(create_room))
        .route("/rooms/{code}", head(probe_room).delete(close_room))
        .route("/lan/rooms", get(lan_rooms))
        .route("/lan/resolve/{code}", get(resolve))
        .fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn_with_state(shared.clone(), guard_local))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(middleware::from_fn(json_errors));
    Router::new()
        .nest("/api", api)
        .route("/ws", get(upgrade).layer(middleware::from_fn(json_errors)))
        .fallback(static_ui::serve)
        .with_state(shared)
}

/// Routes of the LAN listener.
pub(crate) fn lan_router(shared: AppState) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .route("/api/health", get(health))
        .route("/api/rooms/{code}", head(lan_probe_room))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::not_found() })
        .layer(middleware::from_fn(json_errors))
        .with_state(shared)
}

/// Refuses control-API requests that did not come from our own page (DNS
/// rebinding: foreign `Host`; cross-site requests: foreign `Origin`).
async fn guard_local(State(shared): State<AppState>, req: Request, next: Next) -> Response {
    let port = shared.local_port;
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

async fn node_info(State(shared): State<AppState>) -> Json<serde_json::Value> {
    let addresses: Vec<String> = shared.addresses.iter().map(|a| a.ip.to_string()).collect();
    Json(json!({
        "id": shared.id,
        "name": shared.name,
        "lanPort": shared.lan_port,
        "localPort": shared.local_port,
        "addresses": addresses,
        "lanHost": shared.lan_host.to_string(),
        "discovery": shared.discovery_enabled(),
    }))
}

async fn stats(State(shared): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(shared.stats()).unwrap_or_default())
}

async fn list_rooms(State(shared): State<AppState>) -> Json<serde_json::Value> {
    let rooms: Vec<_> = shared
        .registry
        .list()
        .into_iter()
        .map(|r| {
            json!({"code": r.code, "name": r.name, "listed": r.listed, "capacity": r.capacity,
                   "peers": r.peers, "locked": r.locked})
        })
        .collect();
    Json(json!(rooms))
}

async fn create_room(State(shared): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: RoomRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RoomRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
    };
    let created = shared.create_room(request).map_err(|e| match e {
        crate::NodeError::Settings(m) => ApiError::bad_request(m),
        other => ApiError::unavailable(other.to_string()),
    })?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn parse_code(raw: &str) -> Result<RoomCode, ApiError> {
    RoomCode::parse(raw).map_err(|_| ApiError::room_not_found())
}

async fn close_room(
    State(shared): State<AppState>,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    let code = parse_code(&code)?;
    if shared.registry.close_room(code) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::room_not_found())
    }
}

/// 204 if the room is hosted here, else 404 (a path that does not even decode
/// is no room code either).
async fn probe_room(
    State(shared): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> StatusCode {
    let Ok(Path(code)) = code else {
        return StatusCode::NOT_FOUND;
    };
    match RoomCode::parse(&code) {
        Ok(code) if shared.registry.contains(code) => StatusCode::NO_CONTENT,
        _ => StatusCode::NOT_FOUND,
    }
}

async fn lan_probe_room(
    State(shared): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    code: Result<Path<String>, PathRejection>,
) -> StatusCode {
    if !shared
        .probes
        .allow(peer.ip(), tokio::time::Instant::now().into_std())
    {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    probe_room(State(shared), code).await
}

async fn lan_rooms(State(shared): State<AppState>) -> Json<serde_json::Value> {
    Json(json!(shared.lan_rooms()))
}

async fn resolve(
    State(shared): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let code = parse_code(&code)?;
    match shared.resolve(code).await {
        Some(ws) => Ok(Json(json!({"code": code, "ws": ws}))),
        None => Err(ApiError::room_not_found()),
    }
}

/// `GET /ws`: any Origin may connect (other nodes' UIs do); a room code is what
/// lets a socket in.
async fn upgrade(
    State(shared): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(side): Extension<Side>,
    ws: WebSocketUpgrade,
) -> Response {
    let limits = &shared.limits;
    let slot = match shared.sockets.admit(side, peer.ip()) {
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
    let ctx = shared.socket_ctx.clone();
    let tasks = shared.tasks.clone();
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
