//! The peer socket against clients that break the rules on purpose: bad frames,
//! ping and byte floods, invisible or reordering names, spent join budgets, and a
//! node that was itself too busy to read in time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Client, Closed, start_node, start_node_with};
use futures_util::SinkExt;
use lanmeet_core::RoomRequest;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

const SHORT: Duration = Duration::from_millis(300);

/// Writes `bytes` to the socket under the WebSocket layer, as a client that
/// builds its own frames would.
async fn write_raw(c: &mut Client, bytes: &[u8]) {
    match c.ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => tcp.write_all(bytes).await.unwrap(),
        _ => unreachable!("tests use plain sockets"),
    }
}

/// A masked client frame with `first` as its first byte (FIN, RSV, opcode).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    // A zero mask keeps the payload as it is.
    let mut out = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let node = start_node().await;
    let room = node.room();
    for joined in [false, true] {
        let mut c = if joined {
            Client::join(&node.ws_url(), room.code.as_str(), "A").await
        } else {
            Client::connect(&node.ws_url()).await
        };
        write_raw(&mut c, &frame(0x81, &[b'{', 0xff, 0xfe, b'}'])).await;
        let (_, closed) = c.expect_closed().await;
        assert_eq!(closed, Closed::Frame(1007, "bad-message".into()));
    }
    node.shutdown().await;
}

#[tokio::test]
async fn websocket_protocol_violations_close_with_1002() {
    let node = start_node().await;
    let room = node.room();
    for violation in [
        frame(0x09, b""),   // a fragmented ping
        frame(0xC1, b"{}"), // RSV1 without an extension that defines it
        frame(0x80, b"x"),  // a continuation with nothing to continue
        frame(0x83, b"x"),  // a reserved opcode
    ] {
        let mut c = Client::join(&node.ws_url(), room.code.as_str(), "A").await;
        write_raw(&mut c, &violation).await;
        let (_, closed) = c.expect_closed().await;
        assert_eq!(
            closed,
            Closed::Frame(1002, "bad-message".into()),
            "after {violation:02x?}"
        );
    }
    // Like any other end of a joined socket, those hold the member for a resume.
    let violators = node.settle("violators held", |s| s.held == 4).await;
    assert_eq!(violators.sockets, 0);
    // Ending the connection without a close frame is no violation: the member
    // is held the same way.
    let c = Client::join(&node.ws_url(), room.code.as_str(), "B").await;
    c.drop_abruptly();
    node.settle("B held", |s| s.held == 5).await;
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pings_take_from_the_same_rate_limit_as_messages() {
    let node = start_node().await;
    let room = node.room();
    let (mut a, mut b) = Client::pair(&node.ws_url(), room.code.as_str()).await;
    for _ in 0..1000 {
        a.ws.feed(Message::Ping(Default::default())).await.unwrap();
    }
    a.ws.flush().await.unwrap();
    a.expect_error("rate-limited").await;
    // The socket stays open and works again once the bucket refills. (Paused
    // clock: the wait costs no real time.)
    tokio::time::sleep(Duration::from_secs(10)).await;
    a.signal(&b.id, json!("after the pings")).await;
    assert_eq!(b.expect("signal").await["data"], "after the pings");
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_byte_budget_caps_what_one_member_pushes_at_another() {
    let node = start_node().await;
    let room = node.room();
    let (mut a, mut b) = Client::pair(&node.ws_url(), room.code.as_str()).await;
    // 100 signals of 60 KB: few frames (the frame budget is 400), many bytes.
    let chunk = "z".repeat(60 * 1024);
    for n in 0..100 {
        a.ws.feed(Message::text(
            json!({"type":"signal","to":b.id,"data":{"n":n,"pad":chunk}}).to_string(),
        ))
        .await
        .unwrap();
    }
    a.ws.flush().await.unwrap();
    a.expect_error("rate-limited").await;
    let mut got = Vec::new();
    while let Some(Ok(v)) = b.next_event(SHORT).await {
        got.push(v["data"]["n"].as_i64().unwrap());
    }
    assert!(
        !got.is_empty() && got.len() < 20,
        "delivered {} of 100 signals of 60 KB",
        got.len()
    );
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
    // Small signals still pass once the budget refills.
    tokio::time::sleep(Duration::from_secs(10)).await;
    a.signal(&b.id, json!("small")).await;
    assert_eq!(b.expect("signal").await["data"], "small");
    node.shutdown().await;
}

#[tokio::test]
async fn names_must_show_something_and_cannot_reorder_text() {
    let node = start_node().await;
    let room = node.room();
    let url = node.ws_url();
    for invisible in [
        "\u{200B}",
        "\u{200B}\u{200C}\u{200D}",
        "\u{2060}\u{FEFF}",
        " \u{200B} ",
        "\u{202E}",
        "\u{2066}\u{2069}",
        "\u{3164}",
        "\u{115F}\u{AD}",
    ] {
        let mut c = Client::connect(&url).await;
        c.send(json!({"type":"join","room":room.code.as_str(),"name":invisible}))
            .await;
        c.expect_error("bad-message").await;
    }
    let mut alice = Client::join(&url, room.code.as_str(), "Alice").await;
    let mut mallory = Client::connect(&url).await;
    mallory
        .send(json!({"type":"join","room":room.code.as_str(),
                     "name":"\u{202E}ecilA\u{202C} \u{2067}x\u{2069}\u{200F}"}))
        .await;
    mallory.expect_welcome().await;
    let joined = alice.expect("peer-joined").await;
    assert_eq!(joined["peer"]["name"], "ecilA x");
    // Room names follow the same rule.
    let bad = common::post(node.local, "/api/rooms", r#"{"name":"\u200b\u2060"}"#).await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let good = common::post(node.local, "/api/rooms", r#"{"name":"\u202eFriday"}"#).await;
    assert_eq!(good.json()["name"], "Friday");
    node.shutdown().await;
}

#[tokio::test]
async fn a_member_can_resume_while_its_address_is_out_of_failed_joins() {
    let node = start_node_with(|c| {
        c.limits.join_failure_burst = 3;
        // Never refilled in this test: the budget stays spent.
        c.limits.join_failures_per_sec = 0;
    })
    .await;
    let room = node.room_with(RoomRequest {
        passcode: Some("pw".into()),
        ..Default::default()
    });
    let url = node.ws_url();
    let code = room.code.as_str();
    let mut a = Client::connect(&url).await;
    a.send(json!({"type":"join","room":code,"name":"A","passcode":"pw"}))
        .await;
    a.expect_welcome().await;
    let (a_id, a_token) = (a.id.clone(), a.token.clone());
    a.drop_abruptly();
    node.settle("A held", |s| s.held == 1).await;
    // Someone behind the same address spends its failed-join budget.
    for _ in 0..5 {
        let mut c = Client::connect(&url).await;
        c.send(json!({"type":"join","room":"ZZZZZZ","name":"X"}))
            .await;
        c.recv().await;
    }
    let mut c = Client::connect(&url).await;
    c.send(json!({"type":"join","room":code,"name":"X","passcode":"pw"}))
        .await;
    c.expect_error("rate-limited").await;
    // A's resume is not a guess: it takes A's place back.
    let mut back = Client::connect(&url).await;
    back.send(json!({"type":"join","room":code,"name":"A","resume":a_token}))
        .await;
    let welcome = back.expect_welcome().await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(back.id, a_id);
    // A made-up token is still answered rate-limited, not room-not-found.
    let mut forger = Client::connect(&url).await;
    forger
        .send(json!({"type":"join","room":code,"name":"F","resume":"made-up-token"}))
        .await;
    forger.expect_error("rate-limited").await;
    node.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_join_read_after_a_stall_is_not_answered_join_timeout() {
    let node = start_node().await;
    let room = node.room();
    let mut c = Client::connect(&node.ws_url()).await;
    // The join reaches the node's socket, but the node gets to read it only
    // after its join deadline has passed (a stalled process sees both at once).
    c.send(json!({"type":"join","room":room.code.as_str(),"name":"Late"}))
        .await;
    tokio::time::advance(Duration::from_secs(60)).await;
    let welcome = c.expect_welcome().await;
    assert_eq!(welcome["resumed"], false);
    node.shutdown().await;
}
