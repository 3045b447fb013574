//! Connections as a hostile LAN host makes them: ones that never send a byte,
//! send their headers a byte at a time, never read the answers, or come by the
//! hundred from one address. Each must cost the node a bounded time and a
//! bounded share of its connections, on both listeners.
//!
//! The waits run on tokio's paused clock: the node's timers fire as soon as
//! nothing else can happen, so "closed after 10 s of silence" takes no real time
//! and "never closed" shows as the clock running out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    Client, closed_within, connect_from, get, health_from, join_from, read_answer, start_node,
    start_node_with, ws_from,
};
use serde_json::json;
use tokio::io::AsyncWriteExt;

/// Longer than any timeout of the node, shorter than forever.
const LONG: Duration = Duration::from_secs(600);

#[tokio::test(start_paused = true)]
async fn connections_that_never_send_a_byte_are_closed() {
    let node = start_node().await;
    for addr in [node.local, node.lan] {
        let mut silent = connect_from(1, addr).await;
        assert!(
            closed_within(&mut silent, LONG).await,
            "a connection to {addr} that sends nothing is never closed"
        );
    }
    node.settle("no connection left", |s| s.connections == 0)
        .await;
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let node = start_node().await;
    for addr in [node.local, node.lan] {
        let mut slow = connect_from(1, addr).await;
        slow.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
            .await
            .unwrap();
        // One header byte every 2 s, the slowloris pace, for up to 10 minutes.
        let mut cut = false;
        for _ in 0..300 {
            if slow.write_all(b"a").await.is_err()
                || closed_within(&mut slow, Duration::from_secs(2)).await
            {
                cut = true;
                break;
            }
        }
        assert!(cut, "{addr} waited 10 minutes for the end of the headers");
    }
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn idle_kept_alive_connections_are_closed() {
    let node = start_node().await;
    for addr in [node.local, node.lan] {
        let mut kept = connect_from(1, addr).await;
        kept.write_all(format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let answer = read_answer(&mut kept).await.expect("an answer");
        assert_eq!(answer.status, 200);
        assert!(
            closed_within(&mut kept, LONG).await,
            "{addr} keeps an idle connection open forever"
        );
    }
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_its_answers_is_cut_off() {
    let node = start_node().await;
    let lan = node.lan;
    let mut greedy = connect_from(1, lan).await;
    // Pipeline requests without reading a single answer, until both directions
    // are full: the node can neither read more nor write its answers.
    let request = format!("GET /api/health HTTP/1.1\r\nHost: {lan}\r\n\r\n");
    let batch = request.repeat(1000);
    let mut sent = 0usize;
    for _ in 0..100_000 {
        match greedy.try_write(batch.as_bytes()) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // Let the node work through what it could read, then try again:
                // it stops reading once its answers cannot be written.
                tokio::task::yield_now().await;
                if greedy.try_write(batch.as_bytes()).is_err() {
                    break;
                }
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(sent > 0);
    // Stalled: the node must not hold the connection forever. (Paused clock:
    // this wait ends as soon as nothing else can happen.)
    tokio::time::sleep(LONG).await;
    node.settle("stalled connection dropped", |s| s.connections == 0)
        .await;
    assert!(closed_within(&mut greedy, LONG).await);
    node.shutdown().await;
}

#[tokio::test]
async fn one_address_gets_a_bounded_share_of_the_lan_listener() {
    let node = start_node_with(|c| c.limits.max_connections_per_address = 8).await;
    let lan = node.lan;
    // 127.0.0.2 holds its share with connections that send nothing.
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(connect_from(2, lan).await);
    }
    node.settle("the 8 connections are counted", |s| s.connections == 8)
        .await;
    // One more from the same address is turned away at once ...
    assert_ne!(health_from(2, lan).await, Some(200), "a ninth connection");
    let refused = ws_from(2, lan).await;
    assert!(refused.is_err(), "a ninth connection upgraded to /ws");
    // ... while other hosts, and the local listener, are served.
    assert_eq!(health_from(3, lan).await, Some(200));
    let room = node.room();
    let _other = join_from(3, lan, room.code.as_str(), "B").await;
    let local = Client::join(&format!("ws://{}/ws", node.local), room.code.as_str(), "A").await;
    drop(local);
    // Freed connections are the address's again.
    drop(held);
    node.settle("held connections closed", |s| s.connections <= 2)
        .await;
    assert_eq!(health_from(2, lan).await, Some(200));
    node.shutdown().await;
}

#[tokio::test]
async fn a_request_flood_on_a_kept_alive_connection_is_cut_off_and_no_one_else_feels_it() {
    const BURST: usize = 40;
    const SENT: usize = 400;
    let node = start_node_with(|c| {
        c.limits.lan_request_burst = BURST as u32;
        c.limits.lan_requests_per_sec = 1;
    })
    .await;
    let lan = node.lan;
    // 127.0.0.2 asks for its health again and again on one kept-alive connection:
    // answered up to its budget, then 429 `rate-limited` and the connection closed.
    let mut flood = connect_from(2, lan).await;
    let one = format!("GET /api/health HTTP/1.1\r\nHost: {lan}\r\n\r\n");
    let mut ok = 0;
    let refusal = loop {
        assert!(ok < SENT, "{SENT} requests answered: no limit");
        flood.write_all(one.as_bytes()).await.expect("write");
        let answer = read_answer(&mut flood).await.expect("an answer");
        if answer.status != 200 {
            break answer;
        }
        ok += 1;
    };
    assert!(ok >= BURST, "only {ok} answered before the limit");
    assert_eq!(refusal.status, 429);
    assert!(
        refusal.body.contains(r#""code":"rate-limited""#),
        "{}",
        refusal.body
    );
    let head = refusal.headers.to_ascii_lowercase();
    assert!(
        head.contains("retry-after: 1") && head.contains("connection: close"),
        "{head}"
    );
    assert!(
        closed_within(&mut flood, LONG).await,
        "the flooding connection is closed"
    );
    // The same address is refused again at once; other hosts, and the local
    // listener, are served; a room's socket from the flooding address still joins
    // (the peer socket has budgets of its own).
    assert_eq!(health_from(2, lan).await, Some(429));
    assert_eq!(health_from(3, lan).await, Some(200));
    assert_eq!(get(node.local, "/api/health").await.status, 200);
    let room = node.room();
    let _socket = join_from(2, lan, room.code.as_str(), "F").await;
    node.shutdown().await;
}

#[tokio::test]
async fn a_full_lan_listener_leaves_the_local_listener_its_own_connections() {
    let node = start_node_with(|c| {
        c.limits.max_lan_connections = 40;
        c.limits.max_connections_per_address = 4;
    })
    .await;
    let (lan, local) = (node.lan, node.local);
    // Ten hosts, four idle connections each: the LAN listener is full.
    let mut flood = Vec::new();
    for host in 10..20 {
        for _ in 0..4 {
            flood.push(connect_from(host, lan).await);
        }
    }
    node.settle("the flood is counted", |s| s.connections == 40)
        .await;
    assert_ne!(
        health_from(30, lan).await,
        Some(200),
        "LAN listener over its cap"
    );
    // The local UI still works: health, control API and its own /ws.
    assert_eq!(health_from(1, local).await, Some(200));
    let room = node.room();
    let url = format!("ws://{local}/ws");
    let (_a, _b) = Client::pair(&url, room.code.as_str()).await;
    drop(flood);
    node.shutdown().await;
}

#[tokio::test]
async fn request_heads_are_bounded() {
    let node = start_node().await;
    // 20 KiB of headers: over the LAN listener's 16 KiB, within the local one's
    // (browsers send the local listener every local port's cookies).
    let cookie = "c".repeat(20 * 1024);
    let lan = common::http(node.lan, "GET", "/api/health", &[("Cookie", &cookie)], "").await;
    assert_eq!(lan.status, 431, "{lan:?}");
    let local = common::http(node.local, "GET", "/api/health", &[("Cookie", &cookie)], "").await;
    assert_eq!(local.status, 200, "{local:?}");
    node.shutdown().await;
}

/// A node whose LAN port also speaks TLS (browser guests).
async fn start_guest_node(test: &str) -> (common::TestNode, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("lanmeet-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.clone();
    (start_node_with(move |c| c.data_dir = Some(data)).await, dir)
}

#[tokio::test(start_paused = true)]
async fn tls_handshakes_that_stall_are_cut_off() {
    let (node, dir) = start_guest_node("stalled-tls").await;
    let lan = node.lan;
    // Not a byte: neither TLS nor plain HTTP, and as bounded as without TLS.
    let mut silent = connect_from(5, lan).await;
    // The first byte of a handshake record, then nothing.
    let mut opened = connect_from(2, lan).await;
    opened.write_all(&[0x16]).await.unwrap();
    // A record header announcing a ClientHello, sent a byte every 2 s.
    let mut slow = connect_from(3, lan).await;
    slow.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    // A handshake completed, then no request.
    let mut quiet = common::tls::tls_from(4, lan).await;
    // Meanwhile a guest is served.
    let page = common::tls::https(lan, "GET", "/api/health", &[], "").await;
    assert_eq!(page.status, 200);

    assert!(
        closed_within(&mut silent, LONG).await,
        "a connection that sends nothing to a TLS-speaking port is never closed"
    );
    assert!(
        closed_within(&mut opened, LONG).await,
        "a handshake that stopped after one byte is never closed"
    );
    let mut cut = false;
    for _ in 0..300 {
        if slow.write_all(&[0x01]).await.is_err()
            || closed_within(&mut slow, Duration::from_secs(2)).await
        {
            cut = true;
            break;
        }
    }
    assert!(cut, "a handshake sent a byte at a time lasted 10 minutes");
    let mut buf = [0u8; 64];
    let ended = tokio::time::timeout(
        LONG,
        tokio::io::AsyncReadExt::read(&mut quiet.stream, &mut buf),
    )
    .await;
    assert!(
        matches!(ended, Ok(Ok(0) | Err(_))),
        "a TLS connection that never sends a request is never closed: {ended:?}"
    );
    node.settle("no connection left", |s| s.connections == 0)
        .await;
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn garbage_handshakes_are_closed_and_hurt_no_one() {
    let (node, dir) = start_guest_node("garbage-tls").await;
    let lan = node.lan;
    let room = node.room();
    let mut ana = Client::join(&node.ws_url(), room.code.as_str(), "Ana").await;
    let mut garbage = Vec::new();
    for host in 10..20u8 {
        let mut bad = connect_from(host, lan).await;
        // A handshake record full of noise.
        let mut record = vec![0x16, 0x03, 0x01, 0x01, 0x00];
        record.extend((0..256u32).map(|n| (n.wrapping_mul(97) ^ u32::from(host)) as u8));
        bad.write_all(&record).await.unwrap();
        garbage.push(bad);
    }
    for bad in &mut garbage {
        assert!(
            closed_within(bad, common::PATIENCE).await,
            "a garbage handshake is left open"
        );
    }
    // Everyone else is served as before: a guest over wss, health in plain.
    let mut guest = common::tls::wss_from(30, lan).await;
    common::tls::wss_send(
        &mut guest,
        json!({"type":"join","room":room.code.as_str(),"name":"Phone"}),
    )
    .await;
    assert_eq!(common::tls::wss_recv(&mut guest).await["type"], "welcome");
    ana.expect("peer-joined").await;
    assert_eq!(health_from(31, lan).await, Some(200));
    drop(guest);
    drop(ana);
    node.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
