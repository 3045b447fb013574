//! Helpers shared by the probe's integration tests: a real lanmeet node in-process on
//! loopback (discovery off), and probes joined into one of its rooms.
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use lanmeet_core::{Node, NodeConfig, RoomCode, RoomCreated, RoomRequest};
use lanmeet_probe::{Probe, ProbeConfig, ProbeSnapshot};
use tokio_util::sync::CancellationToken;

/// Bound on every wait in these tests. Not a performance threshold: a healthy run
/// takes a small fraction of it; it only keeps a broken run from hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct TestNode {
    pub node: Node,
    pub stop: CancellationToken,
}

impl TestNode {
    pub async fn start(tweak: impl FnOnce(&mut NodeConfig)) -> TestNode {
        let mut config = NodeConfig::loopback();
        tweak(&mut config);
        let stop = CancellationToken::new();
        let node = Node::start(config, stop.clone())
            .await
            .expect("node starts");
        TestNode { node, stop }
    }

    pub fn room(&self) -> RoomCreated {
        self.node.create_room(RoomRequest::default()).expect("room")
    }

    pub fn close_room(&self, code: &str) -> bool {
        self.node.close_room(RoomCode::parse(code).expect("code"))
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        self.node.stopped().await;
    }

    /// Waits until the node's counters satisfy `done`.
    pub async fn settle(&self, what: &str, done: impl Fn(&lanmeet_core::NodeStats) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let stats = self.node.stats();
            if done(&stats) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: last stats {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn config(room: &RoomCreated, name: &str) -> ProbeConfig {
    ProbeConfig::new(room.ws.clone(), room.code.to_string(), name)
}

/// Joins `n` probes named `p1`…`pn` one after another.
pub async fn join_probes(room: &RoomCreated, n: usize) -> Vec<Probe> {
    let mut probes = Vec::new();
    for i in 1..=n {
        probes.push(
            Probe::join(config(room, &format!("p{i}")))
                .await
                .expect("probe joins"),
        );
    }
    probes
}

/// Waits until every probe has an open channel to every other one.
pub async fn wait_for_mesh(probes: &[Probe]) {
    let ids: Vec<String> = probes.iter().map(Probe::id).collect();
    for p in probes {
        let me = p.id();
        let others: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| *id != me)
            .collect();
        p.wait_until(PATIENCE, |s| s.connected_to_all(others.iter().copied()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{} never reached the whole mesh: {e}\n{:#?}",
                    me,
                    p.snapshot().links
                )
            });
    }
}

/// Waits until `probe` has received a chat with `text` from `from`.
pub async fn wait_for_chat(probe: &Probe, from: &str, text: &str) -> ProbeSnapshot {
    probe
        .wait_until(PATIENCE, |s| {
            s.links
                .get(from)
                .is_some_and(|l| l.chats.iter().any(|c| c.text == text))
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "chat {text:?} from {from} never reached {}: {e}",
                probe.id()
            )
        })
}

/// Counts the pairs with an open channel on both sides.
pub fn connected_pairs(probes: &[Probe]) -> usize {
    let snaps: Vec<ProbeSnapshot> = probes.iter().map(Probe::snapshot).collect();
    let mut n = 0;
    for (i, a) in snaps.iter().enumerate() {
        for b in &snaps[i + 1..] {
            let ab = a.links.get(&b.id).is_some_and(|l| l.is_connected());
            let ba = b.links.get(&a.id).is_some_and(|l| l.is_connected());
            if ab && ba {
                n += 1;
            }
        }
    }
    n
}
