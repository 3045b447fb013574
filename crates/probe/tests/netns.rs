//! Across hosts: probes on two hosts of a namespace LAN (one bridge, each host
//! with its own 10.x address) connect to each other through a node running on
//! one of them.
//!
//! Needs root (`ip netns`) and the `lanmeet` binary: `cargo build -p lanmeet` first, or
//! point `LANMEET_BIN` at it. Not root: the test prints SKIPPED and returns (libtest has
//! no runtime skip); set `LANMEET_REQUIRE_NETNS=1` (CI does) to make that a failure.
//! Every process it starts is ended and every namespace deleted, pass or fail
//! (`lanmeet_test_support::netns::Lan`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;
use std::process::Command;

use lanmeet_test_support::netns::{self, Host, Lan};
use serde_json::Value;

const ADDR_A: &str = "10.78.0.1";
const ADDR_B: &str = "10.78.0.2";

/// Starts the probe in `host` (the LAN ends it if the test fails first).
fn run_probe(lan: &Lan, host: &Host, args: &[&str]) -> std::process::Child {
    let probe = Path::new(env!("CARGO_BIN_EXE_lanmeet-probe"));
    lan.spawn(host, probe, args)
}

/// Waits (bounded) for a probe to exit: its stdout and exit code.
fn finish(mut child: std::process::Child) -> (String, Option<i32>) {
    let status = netns::wait_exit(&mut child).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("a probe in a namespace did not finish in time");
    });
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    (out, status.code())
}

#[test]
fn probes_in_two_namespaces_connect_through_a_node_in_one() {
    if !netns::can_run("probes_in_two_namespaces_connect_through_a_node_in_one") {
        return;
    }
    let mut lan = Lan::new("pr", netns::lanmeet_bin());
    lan.bridge("br0");
    let a = lan.host("a", &[("br0", &format!("{ADDR_A}/24"))]);
    let b = lan.host("b", &[("br0", &format!("{ADDR_B}/24"))]);
    let namespaces = [a.ns.clone(), b.ns.clone()];

    // The node lives on host A, on A's address, discovery off.
    let node = lan.start_node(
        &a,
        "node",
        &[
            "--no-discovery",
            "--lan-port",
            "0",
            "--lan-bind",
            ADDR_A,
            "--grace-secs",
            "3",
        ],
    );
    let ws = node.ws();
    let code = node.code();
    assert!(
        ws.contains(ADDR_A),
        "the node advertises its veth address: {ws}"
    );

    // Two probes per host, each bound to its host's address; each run waits
    // until it sees all four members connected.
    let common = [
        "--ws",
        &ws,
        "--peers",
        "2",
        "--expect",
        "4",
        "--duration",
        "2",
        "--timeout",
        "30",
        "--json",
    ];
    let mut args_a = vec![code.as_str(), "--name", "a", "--bind", ADDR_A];
    args_a.extend(common);
    let mut args_b = vec![code.as_str(), "--name", "b", "--bind", ADDR_B];
    args_b.extend(common);
    let run_a = run_probe(&lan, &a, &args_a);
    let run_b = run_probe(&lan, &b, &args_b);
    let (out_a, code_a) = finish(run_a);
    let (out_b, code_b) = finish(run_b);

    for (side, out, status) in [("a", &out_a, code_a), ("b", &out_b, code_b)] {
        let report: Value =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{side}: {out:?}: {e}"));
        assert_eq!(status, Some(0), "{side}: {report:#}");
        assert_eq!(report["ok"], true, "{side}: {report:#}");
        let pairs = report["pairs"].as_array().expect("pairs");
        // 1 pair between its own probes, 2×2 with the other host's probes.
        assert_eq!(pairs.len(), 5, "{side}: {report:#}");
        let cross = pairs
            .iter()
            .filter(|p| {
                p["a_name"].as_str().unwrap().starts_with(side)
                    && !p["b_name"].as_str().unwrap().starts_with(side)
            })
            .count();
        assert_eq!(cross, 4, "{side}: {report:#}");
        assert!(
            pairs
                .iter()
                .all(|p| p["connected"] == true && p["rtt_ms"].is_number()),
            "{side}: {report:#}"
        );
    }
    drop(node);
    drop(lan);
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    for ns in namespaces {
        assert!(
            !String::from_utf8_lossy(&list.stdout).contains(&ns),
            "{ns} was deleted"
        );
    }
}
