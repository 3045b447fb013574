//! Every error of the HTTP API is `{"error":{"code","message"}}`, whatever
//! layer refuses the request: routing, path decoding, methods, body limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Answer, http, start_node};

fn assert_json_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(
        answer
            .headers
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer:?}"
    );
    assert_eq!(answer.error_code(), code, "{answer:?}");
    let message = answer.json()["error"]["message"].clone();
    assert!(
        message.as_str().is_some_and(|m| !m.is_empty()),
        "{answer:?}"
    );
}

#[tokio::test]
async fn bad_percent_encoding_in_a_path_is_a_json_400() {
    let node = start_node().await;
    for (method, path) in [
        ("DELETE", "/api/rooms/%FF%FE"),
        ("GET", "/api/lan/resolve/%C3%28"),
        ("HEAD", "/api/rooms/%FF"),
    ] {
        let answer = http(node.local, method, path, &[], "").await;
        if method == "HEAD" {
            assert_eq!(answer.status, 404, "{answer:?}");
        } else {
            assert_json_error(&answer, 400, "bad-request");
        }
    }
    let answer = http(node.lan, "HEAD", "/api/rooms/%FF", &[], "").await;
    assert_eq!(answer.status, 404, "{answer:?}");
    node.shutdown().await;
}

#[tokio::test]
async fn unsupported_methods_are_a_json_405() {
    let node = start_node().await;
    for (method, path) in [
        ("PUT", "/api/rooms"),
        ("PATCH", "/api/rooms/K7MQ2P"),
        ("POST", "/api/health"),
        ("DELETE", "/api/node"),
    ] {
        let answer = http(node.local, method, path, &[], "").await;
        assert_json_error(&answer, 405, "method-not-allowed");
        assert!(
            answer.headers.to_ascii_lowercase().contains("allow:"),
            "405 names the methods that work: {answer:?}"
        );
    }
    node.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413() {
    let node = start_node().await;
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(64 * 1024));
    let answer = http(node.local, "POST", "/api/rooms", &[], &big).await;
    assert_json_error(&answer, 413, "too-large");
    node.shutdown().await;
}

#[tokio::test]
async fn odd_methods_on_the_local_listener_do_not_get_the_ui() {
    let node = start_node().await;
    let local = node.local;
    let authority = local.to_string();
    for (method, target) in [
        ("CONNECT", authority.as_str()),
        ("OPTIONS", "/"),
        ("TRACE", "/index.html"),
        ("POST", "/"),
        ("DELETE", "/app.js"),
    ] {
        let answer = http(local, method, target, &[], "").await;
        assert_json_error(&answer, 405, "method-not-allowed");
        assert!(!answer.body.contains("<html"), "{answer:?}");
    }
    // GET and HEAD still serve the UI.
    let page = http(local, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html") || page.body.contains("<!doctype"));
    let head = http(local, "HEAD", "/", &[], "").await;
    assert_eq!(head.status, 200);
    node.shutdown().await;
}

#[tokio::test]
async fn a_connect_request_logs_no_error() {
    // The node's tasks run on this thread (current-thread runtime), so a
    // thread-local subscriber sees what they log.
    let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let subscriber = CountErrors(errors.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let node = start_node().await;
    let authority = node.local.to_string();
    for _ in 0..3 {
        let answer = http(node.local, "CONNECT", &authority, &[], "").await;
        assert_ne!(answer.status, 200);
    }
    node.shutdown().await;
    assert_eq!(
        errors.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "CONNECT requests logged errors"
    );
}

/// Counts ERROR events; everything else is ignored.
struct CountErrors(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tracing::Subscriber for CountErrors {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::ERROR
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
