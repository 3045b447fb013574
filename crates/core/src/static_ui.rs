//! The UI files, embedded in the binary so `lanmeet` is one self-contained file.
//! (In debug builds rust-embed reads them from `ui/` on disk, so UI edits show on
//! reload without a rebuild.)

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../ui/"]
#[exclude = "tests/*"]
#[exclude = "bench/*"]
#[exclude = "node_modules/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
struct UiFiles;

/// The policy for the UI's pages: scripts only from the node itself; media and
/// peer sockets may reach other nodes on the LAN (`ws:`), nothing else.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; \
object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Serves `ui/` for any path that is not the API or the peer socket, to `GET`
/// and `HEAD` only: files are all there is to get (and a `CONNECT` answered 200
/// would ask for a tunnel).
pub(crate) async fn serve(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut refused = crate::json_errors::error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "the UI's files can only be read (GET or HEAD)",
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return refused;
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(file) = UiFiles::get(path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mime = file.metadata.mimetype();
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if mime.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    response
}
