//! Peer-socket slots under attack: upgrades to `/ws` that never `join` must not
//! take the slots of the people who do, nor the local UI's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, start_node_with, ws_from};
use serde_json::json;

#[tokio::test]
async fn one_address_cannot_take_every_socket_slot_with_sockets_that_never_join() {
    let node = start_node_with(|c| {
        c.limits.max_sockets = 40;
        c.limits.max_unjoined_per_address = 4;
    })
    .await;
    let (lan, local) = (node.lan, node.local);
    let room = node.room();
    // 127.0.0.2 asks for every slot there is and never joins.
    let mut idle = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        match ws_from(2, lan).await {
            Ok(c) => idle.push(c),
            Err(status) => {
                assert_eq!(status, 503);
                refused += 1;
            }
        }
    }
    assert_eq!(idle.len(), 4, "sockets that never joined, from one address");
    assert_eq!(refused, 36);
    // Another host gets in, and so does the local UI.
    let mut guest = ws_from(3, lan).await.expect("another host's /ws");
    guest
        .send(json!({"type":"join","room":room.code.as_str(),"name":"Guest"}))
        .await;
    guest.expect_welcome().await;
    let _host = Client::join(&format!("ws://{local}/ws"), room.code.as_str(), "Host").await;
    // Joining frees the address's unjoined slot: a member behind the same
    // address as the idle sockets is not stuck behind them once they go.
    drop(idle);
    node.settle("idle sockets gone", |s| s.sockets == 2).await;
    let mut same = ws_from(2, lan).await.expect("a fresh slot for 127.0.0.2");
    same.send(json!({"type":"join","room":room.code.as_str(),"name":"Same"}))
        .await;
    same.expect_welcome().await;
    node.shutdown().await;
}

#[tokio::test]
async fn unjoined_sockets_from_many_addresses_leave_slots_to_members_and_the_local_ui() {
    let node = start_node_with(|c| {
        c.limits.max_sockets = 40;
        c.limits.max_unjoined_per_address = 4;
    })
    .await;
    let (lan, local) = (node.lan, node.local);
    let room = node.room();
    // Four members joined before the flood.
    let mut members = Vec::new();
    for host in 50..54 {
        let mut c = ws_from(host, lan).await.expect("/ws");
        c.send(json!({"type":"join","room":room.code.as_str(),"name":"M"}))
            .await;
        c.expect_welcome().await;
        members.push(c);
    }
    // Twenty hosts, four sockets each, none of which joins: more than every slot.
    let mut flood = Vec::new();
    for host in 2..22 {
        for _ in 0..4 {
            if let Ok(c) = ws_from(host, lan).await {
                flood.push(c);
            }
        }
    }
    let stats = node.stats();
    assert!(
        stats.sockets < 40,
        "unjoined sockets took every slot: {stats:?}"
    );
    // The local UI's own socket still joins, and members still talk.
    let mut own = Client::join(&format!("ws://{local}/ws"), room.code.as_str(), "Host").await;
    for m in &mut members {
        m.expect("peer-joined").await;
    }
    let to = own.id.clone();
    members[0].signal(&to, json!("hello")).await;
    assert_eq!(own.expect("signal").await["data"], "hello");
    drop(flood);
    node.shutdown().await;
}
