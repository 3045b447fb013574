//! The control API and the two listeners, over real HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, get, http, post, start_node, start_node_with};
use serde_json::json;

#[tokio::test]
async fn health_and_node_info() {
    let node = start_node().await;
    let health = get(node.local, "/api/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["ok"], true);
    assert_eq!(health.json()["version"], env!("CARGO_PKG_VERSION"));
    let info = get(node.local, "/api/node").await.json();
    assert_eq!(info["localPort"], node.local.port());
    assert_eq!(info["lanPort"], node.lan.port());
    assert!(info["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(info["name"].is_string() && info["addresses"].is_array());
    node.shutdown().await;
}

#[tokio::test]
async fn rooms_are_created_listed_and_closed() {
    let node = start_node().await;
    let created = post(node.local, "/api/rooms", "").await;
    assert_eq!(created.status, 201);
    let room = created.json();
    let code = room["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    // Defaults: named after the code as shown, listed, no passcode, 8 people.
    assert_eq!(room["name"], format!("{}-{}", &code[..3], &code[3..]));
    assert_eq!(room["listed"], true);
    assert_eq!(room["capacity"], 8);
    assert_eq!(room["ws"], format!("ws://{}/ws", node.lan));
    assert_eq!(room["invite"], format!("lanmeet://{}/{code}", node.lan));

    let body =
        json!({"name":"Friday call","listed":false,"passcode":"pw","capacity":3}).to_string();
    let second = post(node.local, "/api/rooms", &body).await;
    assert_eq!(second.status, 201);
    let second = second.json();
    assert_eq!(
        (
            second["name"].as_str(),
            second["listed"].as_bool(),
            second["capacity"].as_u64()
        ),
        (Some("Friday call"), Some(false), Some(3))
    );
    assert!(
        second.get("passcode").is_none(),
        "the passcode is never echoed"
    );

    let listed = get(node.local, "/api/rooms").await.json();
    let mut codes: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    let mut want = vec![code.clone(), second["code"].as_str().unwrap().to_owned()];
    want.sort();
    assert_eq!(codes, want);
    assert!(listed.as_array().unwrap().iter().all(|r| r["peers"] == 0));

    // Join, and the head count shows.
    let _alice = Client::join(&node.ws_url(), &code, "Alice").await;
    let listed = get(node.local, "/api/rooms").await.json();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["peers"], 1);

    // Codes in paths are forgiving.
    let shown = format!("{}-{}", &code[..3], &code[3..]).to_lowercase();
    assert_eq!(
        http(
            node.local,
            "DELETE",
            &format!("/api/rooms/{shown}"),
            &[],
            ""
        )
        .await
        .status,
        204
    );
    let again = http(node.local, "DELETE", &format!("/api/rooms/{code}"), &[], "").await;
    assert_eq!(
        (again.status, again.error_code()),
        (404, "room-not-found".into())
    );
    let garbage = http(node.local, "DELETE", "/api/rooms/%F0%9F%92%A9", &[], "").await;
    assert_eq!(
        (garbage.status, garbage.error_code()),
        (404, "room-not-found".into())
    );
    node.shutdown().await;
}

#[tokio::test]
async fn bad_room_settings_are_400() {
    let node = start_node().await;
    for body in [
        json!({"name": "x".repeat(65)}).to_string(),
        json!({"capacity": 1}).to_string(),
        json!({"capacity": 9}).to_string(),
        json!({"capacity": "eight"}).to_string(),
        "{not json".to_owned(),
        "[1,2]".to_owned(),
    ] {
        let answer = post(node.local, "/api/rooms", &body).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "bad-request".into()),
            "{body}"
        );
        assert!(
            answer.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(node.stats().rooms, 0);
    node.shutdown().await;
}

#[tokio::test]
async fn lan_rooms_and_resolve_know_local_rooms() {
    let node = start_node().await;
    let listed = post(node.local, "/api/rooms", r#"{"name":"Open"}"#)
        .await
        .json();
    let hidden = post(
        node.local,
        "/api/rooms",
        r#"{"name":"Hidden","listed":false}"#,
    )
    .await
    .json();
    let lan = get(node.local, "/api/lan/rooms").await.json();
    let lan = lan.as_array().unwrap();
    assert_eq!(lan.len(), 1, "unlisted rooms never appear: {lan:?}");
    assert_eq!(lan[0]["code"], listed["code"]);
    assert_eq!(lan[0]["local"], true);
    assert_eq!(lan[0]["ws"], listed["ws"]);
    assert_eq!(
        (lan[0]["peers"].as_u64(), lan[0]["capacity"].as_u64()),
        (Some(0), Some(8))
    );
    assert!(lan[0]["host"].is_string());

    for room in [&listed, &hidden] {
        let code = room["code"].as_str().unwrap().to_lowercase();
        let resolved = get(node.local, &format!("/api/lan/resolve/{code}")).await;
        assert_eq!(resolved.status, 200);
        assert_eq!(
            resolved.json(),
            json!({"code": room["code"], "ws": room["ws"]})
        );
    }
    let missing = get(node.local, "/api/lan/resolve/ZZZZZZ").await;
    assert_eq!(
        (missing.status, missing.error_code()),
        (404, "room-not-found".into())
    );
    node.shutdown().await;
}

#[tokio::test]
async fn foreign_host_or_origin_is_forbidden() {
    let node = start_node().await;
    let port = node.local.port();
    let good_host = format!("127.0.0.1:{port}");
    let localhost = format!("localhost:{port}");
    let evil_host = format!("evil.example:{port}");
    let other_port = format!("127.0.0.1:{}", port.wrapping_add(1));
    for host in [evil_host.as_str(), other_port.as_str(), "127.0.0.1"] {
        let answer = http(node.local, "GET", "/api/rooms", &[("Host", host)], "").await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (403, "forbidden".into()),
            "Host {host}"
        );
        let answer = http(node.local, "POST", "/api/rooms", &[("Host", host)], "{}").await;
        assert_eq!(answer.status, 403);
    }
    assert_eq!(
        http(node.local, "GET", "/api/rooms", &[("Host", &localhost)], "")
            .await
            .status,
        200
    );

    let own = format!("http://127.0.0.1:{port}");
    let own_localhost = format!("http://localhost:{port}");
    for origin in [
        "http://evil.example",
        "null",
        "http://127.0.0.1:1",
        "https://127.0.0.1",
    ] {
        let answer = http(
            node.local,
            "POST",
            "/api/rooms",
            &[("Host", &good_host), ("Origin", origin)],
            "{}",
        )
        .await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (403, "forbidden".into()),
            "Origin {origin}"
        );
    }
    for origin in [own.as_str(), own_localhost.as_str()] {
        let answer = http(
            node.local,
            "POST",
            "/api/rooms",
            &[("Host", &good_host), ("Origin", origin)],
            "{}",
        )
        .await;
        assert_eq!(answer.status, 201, "Origin {origin}");
    }
    assert_eq!(node.stats().rooms, 2, "refused requests created nothing");
    node.shutdown().await;
}

#[tokio::test]
async fn peer_socket_accepts_any_origin_on_both_listeners() {
    let node = start_node().await;
    let room = node.room();
    for listener in [node.local, node.lan] {
        let url = format!("ws://{listener}/ws");
        let mut c = Client::connect_with_origin(&url, Some("http://192.168.1.77:41234")).await;
        c.send(json!({"type":"join","room":room.code.as_str(),"name":"Guest"}))
            .await;
        c.expect_welcome().await;
    }
    node.shutdown().await;
}

#[tokio::test]
async fn lan_listener_serves_only_ws_health_and_room_probes() {
    let node = start_node().await;
    let room = node.room();
    let lan = node.lan;
    let health = get(lan, "/api/health").await;
    assert_eq!(
        (health.status, health.json()["ok"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(
        http(
            lan,
            "HEAD",
            &format!("/api/rooms/{}", room.code.grouped()),
            &[],
            ""
        )
        .await
        .status,
        204
    );
    assert_eq!(
        http(lan, "HEAD", "/api/rooms/ZZZZZZ", &[], "").await.status,
        404
    );
    for (method, path) in [
        ("GET", "/api/node"),
        ("GET", "/api/rooms"),
        ("POST", "/api/rooms"),
        ("GET", "/api/lan/rooms"),
        ("GET", "/api/stats"),
        ("DELETE", &format!("/api/rooms/{}", room.code) as &str),
        ("GET", &format!("/api/rooms/{}", room.code) as &str),
        ("GET", "/"),
        ("GET", "/index.html"),
    ] {
        assert_eq!(
            http(lan, method, path, &[], "").await.status,
            404,
            "{method} {path} on the LAN listener"
        );
    }
    assert_eq!(node.stats().rooms, 1);
    node.shutdown().await;
}

#[tokio::test]
async fn room_probes_are_rate_limited_per_address() {
    let node = start_node_with(|c| {
        c.limits.room_check_burst = 20;
        c.limits.room_check_per_sec = 10;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            http(node.lan, "HEAD", "/api/rooms/ZZZZZZ", &[], "")
                .await
                .status,
        );
    }
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        statuses[..20].iter().all(|s| *s == 404),
        "the burst is allowed: {statuses:?}"
    );
    assert!(limited >= 8, "guessing codes gets 429: {statuses:?}");
    // The control API on loopback is not affected.
    assert_eq!(get(node.local, "/api/health").await.status, 200);
    node.shutdown().await;
}

#[tokio::test]
async fn local_listener_serves_the_ui_with_a_content_security_policy() {
    let node = start_node().await;
    let page = get(node.local, "/").await;
    assert_eq!(page.status, 200);
    let headers = page.headers.to_ascii_lowercase();
    assert!(headers.contains("content-type: text/html"), "{headers}");
    assert!(
        headers.contains("content-security-policy: default-src 'self'"),
        "{headers}"
    );
    assert!(page.body.to_ascii_lowercase().contains("<html") || page.body.contains("lanmeet"));
    assert_eq!(get(node.local, "/no-such-file.js").await.status, 404);
    assert_eq!(get(node.local, "/api/nope").await.status, 404);
    node.shutdown().await;
}

#[tokio::test]
async fn qr_codes_are_drawn_for_the_local_ui_only() {
    let node = start_node().await;
    let link = "https%3A%2F%2F192.168.1.20%3A7878%2F%3Froom%3DK8PADG";
    let drawn = get(node.local, &format!("/api/qr?text={link}")).await;
    assert_eq!(drawn.status, 200, "{drawn:?}");
    assert!(
        drawn
            .headers
            .to_ascii_lowercase()
            .contains("content-type: image/svg+xml"),
        "{}",
        drawn.headers
    );
    assert!(drawn.body.starts_with("<?xml") && drawn.body.contains("<svg"));
    assert!(
        !drawn.body.contains("192.168"),
        "the text is drawn, not embedded"
    );
    // Another text, another drawing.
    let other = get(node.local, "/api/qr?text=https%3A%2F%2F10.0.0.2%3A7878%2F").await;
    assert_ne!(other.body, drawn.body);
    // Missing, empty and oversized texts are refused.
    for query in ["", "?text=", "?nothing=1"] {
        let refused = get(node.local, &format!("/api/qr{query}")).await;
        assert_eq!(refused.status, 400, "{query}: {refused:?}");
        assert_eq!(refused.error_code(), "bad-request");
    }
    let long = "a".repeat(1025);
    assert_eq!(
        get(node.local, &format!("/api/qr?text={long}"))
            .await
            .status,
        400
    );
    // Not on the LAN, and not for other sites.
    assert_eq!(
        get(node.lan, &format!("/api/qr?text={link}")).await.status,
        404
    );
    let foreign = http(
        node.local,
        "GET",
        &format!("/api/qr?text={link}"),
        &[("Origin", "http://evil.example")],
        "",
    )
    .await;
    assert_eq!(foreign.status, 403);
    node.shutdown().await;
}

#[tokio::test]
async fn the_bridge_is_told_to_own_pages_only() {
    let node = start_node().await;
    let none = get(node.local, "/api/bridge").await;
    assert_eq!((none.status, none.error_code()), (404, "no-bridge".into()));
    node.shutdown().await;

    let node = start_node_with(|c| {
        c.bridge = Some(lanmeet_core::BridgeInfo {
            url: "ws://127.0.0.1:4242/bridge".into(),
            secret: "s3cret".into(),
        });
    })
    .await;
    let port = node.local.port();
    let good_host = format!("127.0.0.1:{port}");
    let own = format!("http://127.0.0.1:{port}");
    let answer = http(
        node.local,
        "GET",
        "/api/bridge",
        &[("Host", &good_host), ("Origin", &own)],
        "",
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        json!({"url": "ws://127.0.0.1:4242/bridge", "secret": "s3cret"})
    );
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let answer = http(
            node.local,
            "GET",
            "/api/bridge",
            &[("Host", &good_host), ("Origin", origin)],
            "",
        )
        .await;
        assert_eq!(answer.status, 403, "Origin {origin}");
        assert!(!answer.body.contains("s3cret"));
    }
    let lan = http(node.lan, "GET", "/api/bridge", &[], "").await;
    assert_eq!(lan.status, 404, "never on the LAN listener");
    assert!(!lan.body.contains("s3cret"));
    node.shutdown().await;
}
