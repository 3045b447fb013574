//! Native probes in one room of a real node, on loopback: the mesh forms, messages flow
//! both ways, and leave, drop/resume, a member back with new connections and room close
//! are handled.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{
    PATIENCE, TestNode, config, connected_pairs, join_probes, wait_for_chat, wait_for_mesh,
};
use lanmeet_core::RoomRequest;
use lanmeet_probe::{CloseReason, Probe, ProbeError, ProbeOptions, SessionState, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_probes_connect_all_fifteen_pairs_and_talk_both_ways() {
    let node = TestNode::start().await;
    let room = node.room();
    let probes = join_probes(&room, 6).await;
    wait_for_mesh(&probes).await;
    assert_eq!(connected_pairs(&probes), 15);

    // Chat from every probe to every other one.
    for p in &probes {
        let sent = p.send_chat(format!("hello from {}", p.id())).await.unwrap();
        assert_eq!(sent, 5);
    }
    for receiver in &probes {
        for sender in &probes {
            if receiver.id() != sender.id() {
                wait_for_chat(
                    receiver,
                    &sender.id(),
                    &format!("hello from {}", sender.id()),
                )
                .await;
            }
        }
    }
    // Pings go out on every link and come back: both directions of every channel work,
    // and every probe answered the other side's pings.
    for p in &probes {
        let snap = p
            .wait_until(PATIENCE, |s| {
                s.links.len() == 5
                    && s.links.values().all(|l| {
                        l.pongs_received > 0 && l.pings_answered > 0 && !l.rtt_ms.is_empty()
                    })
            })
            .await
            .expect("round trips on every link");
        for l in snap.links.values() {
            assert!(l.connect_ms.is_some(), "{l:?}");
            assert_eq!(
                l.polite,
                snap.id < l.peer_id,
                "the polite side is the id that sorts first"
            );
        }
    }
    // The newcomer offered: probe i offered to every probe that joined before it.
    let ids: Vec<String> = probes.iter().map(Probe::id).collect();
    for (i, p) in probes.iter().enumerate() {
        let snap = p.snapshot();
        for (j, other) in ids.iter().enumerate() {
            if i != j {
                assert_eq!(
                    snap.links[other].offerer,
                    i > j,
                    "{} -> {}",
                    snap.name,
                    other
                );
            }
        }
    }
    for p in probes {
        let last = p.leave().await;
        assert_eq!(last.state, SessionState::Closed(CloseReason::Left));
    }
    node.settle("everyone left", |s| s.joined == 0 && s.held == 0)
        .await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_probe_is_torn_down_on_all_others() {
    let node = TestNode::start().await;
    let room = node.room();
    let mut probes = join_probes(&room, 6).await;
    wait_for_mesh(&probes).await;

    let leaver = probes.remove(3);
    let gone = leaver.id();
    let last = leaver.leave().await;
    assert_eq!(last.state, SessionState::Closed(CloseReason::Left));
    assert!(
        last.links.is_empty(),
        "the leaver closed its own links: {:?}",
        last.links.keys()
    );

    for p in &probes {
        let snap = p
            .wait_until(PATIENCE, |s| {
                !s.links.contains_key(&gone)
                    && s.departed
                        .iter()
                        .any(|d| d.peer_id == gone && d.reason == "peer-left")
            })
            .await
            .expect("the leaver's link is torn down");
        assert!(!snap.members.contains_key(&gone));
        assert_eq!(snap.links.len(), 4, "the other links stay");
        assert!(snap.links.values().all(|l| l.is_connected()));
    }
    assert_eq!(connected_pairs(&probes), 10);
    for p in probes {
        p.leave().await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_probe_resumes_keeps_its_links_and_gets_held_offers() {
    let node = TestNode::start_with(|c| c.limits.grace = Duration::from_secs(20)).await;
    let room = node.room();
    let mut probes = join_probes(&room, 6).await;
    wait_for_mesh(&probes).await;

    let dropped = &probes[2];
    let id = dropped.id();
    dropped
        .drop_connection(Duration::from_millis(1500))
        .await
        .unwrap();
    node.settle("the node holds the dropped probe", |s| s.held == 1)
        .await;

    // A newcomer joins while the socket is down: its offer to the dropped probe is held
    // by the node and delivered after the resume.
    let newcomer = Probe::join(config(&room, "p7")).await.expect("p7 joins");
    assert!(
        newcomer.snapshot().members.contains_key(&id),
        "held ids are listed"
    );
    probes.push(newcomer);
    wait_for_mesh(&probes).await;
    assert_eq!(connected_pairs(&probes), 21);

    let snap = probes[2].snapshot();
    assert_eq!(snap.id, id, "same id after the resume");
    assert_eq!(snap.welcomes, 2);
    assert_eq!(snap.resumes, 1);
    assert_eq!(snap.state, SessionState::Joined);
    assert!(
        snap.departed.is_empty(),
        "no link was torn down: {:?}",
        snap.departed
    );
    assert!(
        snap.members.contains_key(&probes[6].id()),
        "the resume's welcome listed p7"
    );

    // Signals flow again through the new socket, and the channels still carry data.
    probes[2].send_chat("back").await.unwrap();
    for (i, p) in probes.iter().enumerate() {
        if i != 2 {
            wait_for_chat(p, &id, "back").await;
            assert!(p.snapshot().departed.is_empty());
        }
    }
    for p in probes {
        p.leave().await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_back_after_the_grace_period_rejoins_with_a_new_id() {
    let node = TestNode::start_with(|c| c.limits.grace = Duration::from_millis(500)).await;
    let room = node.room();
    let probes = join_probes(&room, 3).await;
    wait_for_mesh(&probes).await;
    let old = probes[0].id();
    probes[0]
        .drop_connection(Duration::from_millis(1500))
        .await
        .unwrap();
    for p in &probes[1..] {
        p.wait_until(PATIENCE, |s| !s.links.contains_key(&old))
            .await
            .expect("the expired id is torn down");
    }
    let snap = probes[0]
        .wait_until(PATIENCE, |s| s.welcomes == 2)
        .await
        .expect("rejoined");
    assert_ne!(snap.id, old, "an expired token makes an ordinary join");
    assert_eq!(snap.resumes, 0);
    wait_for_mesh(&probes).await;
    assert_eq!(connected_pairs(&probes), 3);
    let snap = probes[0].snapshot();
    assert!(snap.departed.iter().all(|d| d.reason == "rejoined"));
    assert!(
        snap.links.values().all(|l| l.offerer),
        "as a newcomer it offered to everyone"
    );
    for p in probes {
        p.leave().await;
    }
    node.shutdown().await;
}

/// A member comes back under its id with new peer connections, as a reloaded page
/// does: the others see offers from a new session of that id and replace their links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_back_with_new_connections_gets_fresh_links() {
    let node = TestNode::start_with(|c| c.limits.grace = Duration::from_secs(20)).await;
    let room = node.room();
    let mut probes = join_probes(&room, 3).await;
    wait_for_mesh(&probes).await;

    let gone = probes.remove(2);
    let id = gone.id();
    let token = gone.resume_token();
    assert!(!token.is_empty());
    gone.stop().await;
    node.settle("the node holds the stopped probe", |s| s.held == 1)
        .await;

    let mut again = config(&room, "p3");
    again.resume = Some(token);
    let back = Probe::join(again).await.expect("p3 resumes");
    let snap = back.snapshot();
    assert_eq!(snap.id, id, "same id");
    assert_eq!(snap.resumes, 1);
    assert!(
        snap.links.values().all(|l| l.offerer),
        "new connections: it offers to everyone"
    );
    probes.push(back);
    wait_for_mesh(&probes).await;
    assert_eq!(connected_pairs(&probes), 3);
    for p in &probes[..2] {
        let snap = p.snapshot();
        let restarted: Vec<&str> = snap.departed.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(
            restarted,
            ["restarted"],
            "{}: {:?}",
            snap.name,
            snap.departed
        );
        assert_eq!(snap.departed[0].peer_id, id);
        assert!(!snap.links[&id].offerer, "the fresh link answered");
    }
    probes[2].send_chat("reloaded").await.unwrap();
    for p in &probes[..2] {
        wait_for_chat(p, &id, "reloaded").await;
    }
    for p in probes {
        p.leave().await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_room_tears_down_every_link() {
    let node = TestNode::start().await;
    let room = node.room();
    let probes = join_probes(&room, 3).await;
    wait_for_mesh(&probes).await;
    assert!(node.close_room(room.code));
    for p in &probes {
        let snap = tokio::time::timeout(PATIENCE, p.closed())
            .await
            .expect("session ends");
        assert_eq!(snap.state, SessionState::Closed(CloseReason::RoomClosed));
        assert!(snap.links.is_empty(), "{:?}", snap.links.keys());
        assert_eq!(snap.departed.len(), 2);
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_join_says_why() {
    let node = TestNode::start().await;
    let room = node.room_with(RoomRequest {
        passcode: Some("sesame".into()),
        ..Default::default()
    });
    let mut c = config(&room, "p1");
    match Probe::join(c.clone()).await {
        Err(ProbeError::Refused { code, .. }) => assert_eq!(code, "bad-passcode"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("joined without the passcode"),
    }
    c.passcode = Some("sesame".into());
    let p = Probe::join(c.clone())
        .await
        .expect("joins with the passcode");
    p.leave().await;
    c.room = "ZZZZZZ".into();
    match Probe::join(c.clone()).await {
        Err(ProbeError::Refused { code, .. }) => assert_eq!(code, "room-not-found"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("joined a room that does not exist"),
    }
    node.shutdown().await;
    match Probe::join(c).await {
        Err(ProbeError::Connect { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("joined a stopped node"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reports_every_pair() {
    let node = TestNode::start().await;
    let room = node.room();
    let mut options = ProbeOptions::new(room.ws.clone(), room.code.to_string());
    options.peers = 3;
    options.duration = Duration::from_millis(500);
    let report = run(options).await.expect("run");
    assert!(report.ok, "{report}");
    assert_eq!(report.pairs.len(), 3);
    assert!(report.mesh_ms.is_some());
    let json = serde_json::to_value(&report).unwrap();
    for pair in json["pairs"].as_array().unwrap() {
        for key in ["a", "b", "connected", "connect_ms", "rtt_ms"] {
            assert!(pair.get(key).is_some(), "{key} in {pair}");
        }
        assert_eq!(pair["connected"], true);
        assert!(pair["rtt_ms"].as_f64().is_some());
        // On loopback with no ICE servers every pair is host to host: direct.
        assert_eq!(pair["via"], "direct", "{pair}");
        assert_eq!(pair["selected_pair"]["local"]["type"], "host", "{pair}");
        assert_eq!(
            pair["selected_pair"]["local"]["address"], "127.0.0.1",
            "{pair}"
        );
    }
    let text = report.to_string();
    assert!(text.contains("probe-1 <-> probe-2"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("probe-1 <-> probe-2"))
        .unwrap();
    assert!(row.trim_end().ends_with("direct"), "{text}");
    assert!(text.ends_with("result: OK"), "{text}");
    node.settle("the run left", |s| s.joined == 0).await;

    // A lone probe has nobody to reach: not OK, and it says so.
    let mut options = ProbeOptions::new(room.ws.clone(), room.code.to_string());
    options.peers = 1;
    options.duration = Duration::ZERO;
    let report = run(options).await.expect("run");
    assert!(!report.ok);
    assert!(report.pairs.is_empty());
    assert!(!report.problems.is_empty());
    node.shutdown().await;
}
