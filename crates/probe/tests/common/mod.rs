//! Helpers shared by the probe's integration tests: probes joined into a room of the
//! workspace's one test node (`lanmeet_test_support::node`, re-exported here).
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use lanmeet_core::RoomCreated;
use lanmeet_probe::{Probe, ProbeConfig, ProbeSnapshot};
pub use lanmeet_test_support::node::TestNode;

/// Bound on every wait in these tests. Not a performance threshold: a healthy run
/// takes a small fraction of it; it only keeps a broken run from hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

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
