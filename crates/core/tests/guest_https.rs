//! Browser guests: the LAN port speaks TLS with the node's own certificate
//! beside plain HTTP (docs/PROTOCOL.md, "Guests over HTTPS" [ext]), serves a
//! guest the UI and the peer socket, and never the control API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::tls::{https, tls_from, wss_from, wss_recv, wss_send};
use common::{Client, TestNode, get, http, start_node_with};
use serde_json::json;

/// A fresh data directory for one test.
fn data_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lanmeet-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn guest_node(dir: &Path) -> TestNode {
    let dir = dir.to_owned();
    start_node_with(move |c| c.data_dir = Some(dir)).await
}

#[tokio::test]
async fn https_and_plain_http_share_the_lan_port() {
    let dir = data_dir("share");
    let node = guest_node(&dir).await;
    let fingerprint = node.node().guest_fingerprint().expect("HTTPS").to_owned();

    // The certificate shown is the one the host is told about; HTTP/1.1 only.
    let tls = tls_from(1, node.lan).await;
    assert_eq!(tls.fingerprint, fingerprint);
    assert_eq!(tls.alpn.as_deref(), Some(&b"http/1.1"[..]));

    // A guest gets the UI's page over HTTPS (with its policy) ...
    let page = https(node.lan, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("<html"), "{}", page.body);
    let head = page.headers.to_ascii_lowercase();
    assert!(head.contains("content-security-policy"), "{head}");
    assert!(!head.contains("strict-transport-security"), "{head}");
    let health = https(node.lan, "GET", "/api/health", &[], "").await;
    assert_eq!(health.json()["ok"], true);

    // ... while the plain protocol on the same port is what it was: health,
    // the room check, 404 for the UI's files.
    assert_eq!(get(node.lan, "/api/health").await.json()["ok"], true);
    assert_eq!(get(node.lan, "/").await.status, 404);
    let room = node.room();
    let check = http(
        node.lan,
        "HEAD",
        &format!("/api/rooms/{}", room.code),
        &[],
        "",
    )
    .await;
    assert_eq!(check.status, 204);
    let check = https(
        node.lan,
        "HEAD",
        &format!("/api/rooms/{}", room.code),
        &[],
        "",
    )
    .await;
    assert_eq!(check.status, 204);

    // A guest over wss and a node's client over ws meet in one room.
    let mut local = Client::join(&node.ws_url(), room.code.as_str(), "Ana").await;
    let mut guest = wss_from(2, node.lan).await;
    wss_send(
        &mut guest,
        json!({"type":"join","room":room.code.as_str(),"name":"Phone"}),
    )
    .await;
    let welcome = wss_recv(&mut guest).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let guest_id = welcome["id"].as_str().unwrap().to_owned();
    assert_eq!(welcome["peers"][0]["name"], "Ana");
    let joined = local.expect("peer-joined").await;
    assert_eq!(joined["peer"]["name"], "Phone");
    local.signal(&guest_id, json!({"sdp":"offer"})).await;
    let signal = wss_recv(&mut guest).await;
    assert_eq!(
        (signal["type"].as_str(), signal["from"].as_str()),
        (Some("signal"), Some(local.id.as_str()))
    );
    assert_eq!(signal["data"]["sdp"], "offer");
    wss_send(
        &mut guest,
        json!({"type":"signal","to":local.id,"data":{"sdp":"answer"}}),
    )
    .await;
    let answer = local.expect("signal").await;
    assert_eq!(answer["data"]["sdp"], "answer");

    node.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_certificate_is_kept_across_restarts() {
    let dir = data_dir("restart");
    let first = guest_node(&dir).await;
    let fingerprint = first.node().guest_fingerprint().unwrap().to_owned();
    let room = first.room();
    let url = first.node().guest_url(room.code).unwrap();
    assert_eq!(url, format!("https://{}/?room={}", first.lan, room.code));
    first.shutdown().await;

    let second = guest_node(&dir).await;
    assert_eq!(
        second.node().guest_fingerprint(),
        Some(fingerprint.as_str())
    );
    assert_eq!(tls_from(1, second.lan).await.fingerprint, fingerprint);
    let info = get(second.local, "/api/node").await.json();
    assert_eq!(info["guest"]["fingerprint"], fingerprint.as_str());
    assert_eq!(info["guest"]["origin"], format!("https://{}", second.lan));
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_a_data_directory_there_is_no_https() {
    let node = start_node_with(|_| {}).await;
    assert_eq!(node.node().guest_fingerprint(), None);
    assert!(get(node.local, "/api/node").await.json()["guest"].is_null());
    let tcp = common::connect_from(1, node.lan).await;
    assert!(common::tls::tls_over(tcp).await.is_err());
    node.shutdown().await;
}

#[tokio::test]
async fn a_data_directory_that_cannot_hold_it_costs_only_the_guests() {
    let dir = data_dir("blocked");
    // A file where the directory should be.
    std::fs::write(&dir, b"in the way").unwrap();
    let node = guest_node(&dir).await;
    assert_eq!(node.node().guest_fingerprint(), None);
    let room = node.room();
    let (_a, _b) = Client::pair(&node.ws_url(), room.code.as_str()).await;
    node.shutdown().await;
    std::fs::remove_file(&dir).unwrap();
}

#[tokio::test]
async fn the_control_api_never_answers_over_https() {
    let dir = data_dir("control");
    let node = guest_node(&dir).await;
    let room = node.room();
    let local_host = node.local.to_string();
    let local_origin = format!("http://{}", node.local);
    let code_path = format!("/api/rooms/{}", room.code);
    let resolve_path = format!("/api/lan/resolve/{}", room.code);
    let requests = [
        ("GET", "/api/rooms", ""),
        ("POST", "/api/rooms", "{}"),
        ("DELETE", code_path.as_str(), ""),
        ("GET", "/api/node", ""),
        ("GET", "/api/stats", ""),
        ("GET", "/api/lan/rooms", ""),
        ("GET", resolve_path.as_str(), ""),
        ("GET", "/api", ""),
    ];
    for (method, path, body) in requests {
        // Even dressed as the local UI's own requests.
        for headers in [
            vec![],
            vec![
                ("Host", local_host.as_str()),
                ("Origin", local_origin.as_str()),
            ],
        ] {
            let answer = https(node.lan, method, path, &headers, body).await;
            assert_eq!(answer.status, 404, "{method} {path} over HTTPS: {answer:?}");
            assert_eq!(answer.error_code(), "not-found", "{method} {path}");
        }
    }
    // Request heads are bounded as on the plain LAN port.
    let cookie = "c".repeat(20 * 1024);
    let big = https(node.lan, "GET", "/", &[("Cookie", &cookie)], "").await;
    assert_eq!(big.status, 431, "{big:?}");
    // The UI's files are read-only there too.
    let put = https(node.lan, "PUT", "/index.html", &[], "{}").await;
    assert_eq!(put.status, 405);
    assert_eq!(node.stats().rooms, 1, "the room is still there");
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
