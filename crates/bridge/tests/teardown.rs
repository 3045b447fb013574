//! Leaving tears everything down: the bridge's sessions, connections, tasks and sockets.
//! A test binary of its own, so that counting this process's sockets sees only this call.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_tears_everything_down() {
    let sockets_before = open_sockets();
    let c = call().await;
    video_flows(&c.a, &c.b, 1, 3).await;
    assert_eq!(c.bridge_a.stats().peers.load(Ordering::Relaxed), 1);
    let Call {
        node,
        a,
        b,
        bridge_a,
        bridge_b,
    } = c;
    a.leave().await;
    // Alice's bridge ends her session and its connection; Bob's page hears she left
    // and closes its connection.
    settle("alice's bridge empty", || {
        bridge_a.stats().sessions.load(Ordering::Relaxed) == 0
            && bridge_a.stats().peers.load(Ordering::Relaxed) == 0
    })
    .await;
    b.events
        .wait_for("peer-left", |v| v["event"] == "test:peer-left")
        .await;
    settle("bob's connection closed", || {
        bridge_b.stats().peers.load(Ordering::Relaxed) == 0
    })
    .await;
    b.leave().await;
    bridge_a.shutdown().await;
    bridge_b.shutdown().await;
    node.shutdown().await;
    settle("every socket closed", || open_sockets() <= sockets_before).await;
}
