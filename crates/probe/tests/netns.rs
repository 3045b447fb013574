//! Across hosts: probes on two hosts of a namespace LAN (one bridge, each host
//! with its own 10.x address) connect to each other through a node running on
//! one of them.
//!
//! Needs root (`ip netns`) and the `lanmeet` binary (the node is `lanmeet host`, the
//! probes `lanmeet probe`): `cargo build -p lanmeet` first, or point `LANMEET_BIN` at
//! it. Not root: the test prints SKIPPED and returns (libtest has no runtime skip); set
//! `LANMEET_REQUIRE_NETNS=1` (CI does) to make that a failure.
//! Every process it starts is ended and every namespace deleted, pass or fail
//! (`lanmeet_test_support::netns::Lan`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Read;
use std::process::Command;

use lanmeet_test_support::netns::{self, Host, Lan};
use serde_json::Value;

const ADDR_A: &str = "10.78.0.1";
const ADDR_B: &str = "10.78.0.2";

/// Starts `lanmeet probe ARGS…` in `host` (the LAN ends it if the test fails first).
fn run_probe(lan: &Lan, host: &Host, args: &[&str]) -> std::process::Child {
    let mut probe_args = vec!["probe"];
    probe_args.extend(args);
    lan.spawn(host, &netns::lanmeet_bin(), &probe_args)
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

/// `lanmeet probe --bench`: one row per N under the table's title and header, every
/// round connected (exit 0); `--json` gives the same figures as one object.
#[test]
fn bench_mode_times_mesh_setup_for_each_size() {
    if !netns::can_run("bench_mode_times_mesh_setup_for_each_size") {
        return;
    }
    let mut lan = Lan::new("pb", netns::lanmeet_bin());
    lan.bridge("br0");
    let a = lan.host("a", &[("br0", &format!("{ADDR_A}/24"))]);
    let node = lan.start_node(
        &a,
        "node",
        &["--no-discovery", "--lan-port", "0", "--lan-bind", ADDR_A],
    );
    let (ws, code) = (node.ws(), node.code());
    let bench = [
        "probe", &code, "--ws", &ws, "--bench", "2,3", "--rounds", "2",
    ];

    let table = lan.lanmeet(&a, &bench);
    let out = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "title, header, one row per N: {out}");
    assert!(lines[0].starts_with("mesh setup: "), "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        [
            "N", "pairs", "rounds", "min", "ms", "median", "ms", "max", "ms"
        ]
    );
    for (line, (n, pairs)) in lines[2..].iter().zip([("2", "1"), ("3", "3")]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[..3], [n, pairs, "2"], "{out}");
        assert!(
            cells[3..].iter().all(|c| c.parse::<f64>().is_ok()),
            "min, median and max in ms: {out}"
        );
    }

    let mut json_args = bench.to_vec();
    json_args.push("--json");
    let json = lan.lanmeet(&a, &json_args);
    let out = String::from_utf8_lossy(&json.stdout);
    assert!(
        json.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{out:?}: {e}"));
    assert_eq!(report["bench"], "mesh_setup");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{report:#}");
    for (r, n) in results.iter().zip([2, 3]) {
        assert_eq!(r["n"], n);
        assert_eq!(r["rounds"], 2);
        let samples = r["samples_ms"].as_array().expect("samples");
        assert_eq!(samples.len(), 2, "{report:#}");
        assert!(r["min_ms"].as_f64().unwrap() <= r["max_ms"].as_f64().unwrap());
    }
    drop(node);
}
