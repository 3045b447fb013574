//! One shape for every error answer of the HTTP API,
//! `{"error":{"code","message"}}`, whichever layer refused the request: a
//! handler, or axum itself (a path that does not decode, a method the route does
//! not have, a body over the limit, a request that is no WebSocket upgrade).
//! Clients parse one format, and no plain-text stack detail leaks.

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error code for a status, for errors that have no code of their own.
pub(crate) fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "too-large",
        StatusCode::TOO_MANY_REQUESTS => "rate-limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad-request",
        _ => "internal",
    }
}

/// An error answer with the code for `status`.
pub(crate) fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"error": {"code": code_for(status), "message": message.into()}});
    (status, Json(body)).into_response()
}

/// The sentence for an error answer that came without one.
fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
        StatusCode::NOT_FOUND => "no such endpoint",
        _ => status.canonical_reason().unwrap_or("the request failed"),
    }
}

/// Longest plain-text error body carried over into the JSON message.
const MAX_MESSAGE: usize = 200;

/// Middleware: turns error answers that are not JSON into the API's error
/// shape, keeping their status and headers (such as `Allow` on a 405).
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // axum's rejections are one short sentence; anything else is cut.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    let message = if text.is_empty() {
        default_message(status).to_owned()
    } else {
        text.chars().take(MAX_MESSAGE).collect()
    };
    let body = json!({"error": {"code": code_for(status), "message": message}}).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_status() {
        assert_eq!(code_for(StatusCode::BAD_REQUEST), "bad-request");
        assert_eq!(code_for(StatusCode::UNSUPPORTED_MEDIA_TYPE), "bad-request");
        assert_eq!(
            code_for(StatusCode::METHOD_NOT_ALLOWED),
            "method-not-allowed"
        );
        assert_eq!(code_for(StatusCode::PAYLOAD_TOO_LARGE), "too-large");
        assert_eq!(code_for(StatusCode::INTERNAL_SERVER_ERROR), "internal");
    }
}
