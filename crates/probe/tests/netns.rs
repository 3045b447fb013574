//! Across hosts: probes in two network namespaces, joined by a veth pair with their own
//! 10.x addresses, connect to each other through a node running in one of them.
//!
//! Needs root (`ip netns`) and the `lanmeet` binary: `cargo build -p lanmeet` first, or
//! point `LANMEET_BIN` at it. Not root: the test prints SKIPPED and returns (libtest has
//! no runtime skip); set `LANMEET_REQUIRE_NETNS=1` (CI does) to make that a failure.
//! Every process it starts is killed and both namespaces are deleted, pass or fail.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on each spawned process. Not a performance threshold.
const PATIENCE: Duration = Duration::from_secs(60);
const ADDR_A: &str = "10.78.0.1";
const ADDR_B: &str = "10.78.0.2";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn lanmeet_bin() -> PathBuf {
    let path = std::env::var_os("LANMEET_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/lanmeet")
        });
    assert!(
        path.exists(),
        "{} not found: run `cargo build -p lanmeet` first, or set LANMEET_BIN",
        path.display()
    );
    path
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("run ip");
    assert!(status.success(), "ip {args:?} failed");
}

/// Two namespaces with a veth pair between them; deleted on drop, with every child
/// process registered here killed first.
struct Lab {
    a: String,
    b: String,
    children: Vec<Child>,
}

impl Lab {
    fn new() -> Lab {
        let pid = std::process::id();
        // Built before the first `ip` call, so a failure half-way still cleans up.
        let lab = Lab {
            a: format!("lmprobe-a-{pid}"),
            b: format!("lmprobe-b-{pid}"),
            children: Vec::new(),
        };
        ip(&["netns", "add", &lab.a]);
        ip(&["netns", "add", &lab.b]);
        ip(&[
            "-n", &lab.a, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1", "netns",
            &lab.b,
        ]);
        ip(&[
            "-n",
            &lab.a,
            "addr",
            "add",
            &format!("{ADDR_A}/24"),
            "dev",
            "lan0",
        ]);
        ip(&[
            "-n",
            &lab.b,
            "addr",
            "add",
            &format!("{ADDR_B}/24"),
            "dev",
            "lan1",
        ]);
        for (ns, dev) in [(&lab.a, "lan0"), (&lab.b, "lan1")] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    fn spawn(&mut self, ns: &str, program: &std::path::Path, args: &[&str]) -> usize {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn in namespace");
        self.children.push(child);
        self.children.len() - 1
    }

    /// Waits (bounded) for child `i` to exit; returns its stdout and exit code.
    fn wait(&mut self, i: usize) -> (String, Option<i32>) {
        let deadline = Instant::now() + PATIENCE;
        let child = &mut self.children[i];
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut out = String::new();
                if let Some(stdout) = child.stdout.take() {
                    for line in BufReader::new(stdout).lines() {
                        out.push_str(&line.unwrap_or_default());
                        out.push('\n');
                    }
                }
                return (out, status.code());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("a probe in a namespace did not finish within {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn probes_in_two_namespaces_connect_through_a_node_in_one() {
    if !is_root() {
        assert!(
            std::env::var_os("LANMEET_REQUIRE_NETNS").is_none(),
            "LANMEET_REQUIRE_NETNS is set but this test needs root"
        );
        eprintln!(
            "SKIPPED probes_in_two_namespaces_connect_through_a_node_in_one: needs root (ip netns)"
        );
        return;
    }
    let lanmeet = lanmeet_bin();
    let probe = PathBuf::from(env!("CARGO_BIN_EXE_lanmeet-probe"));
    let mut lab = Lab::new();
    let (ns_a, ns_b) = (lab.a.clone(), lab.b.clone());

    // The node lives in namespace A, on A's veth address, discovery off.
    let node = lab.spawn(
        &ns_a,
        &lanmeet,
        &[
            "host",
            "--no-open",
            "--no-discovery",
            "--json",
            "--local-port",
            "0",
            "--lan-port",
            "0",
            "--lan-bind",
            ADDR_A,
            "--grace-secs",
            "3",
        ],
    );
    let mut line = String::new();
    // Kept open to the end: closing it could fail the node's later writes to stdout.
    let mut node_out = BufReader::new(lab.children[node].stdout.take().expect("node stdout"));
    node_out
        .read_line(&mut line)
        .expect("node prints its JSON line");
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("node said {line:?}: {e}"));
    let ws = ready["ws"].as_str().expect("ws").to_owned();
    let code = ready["code"].as_str().expect("code").to_owned();
    assert!(
        ws.contains(ADDR_A),
        "the node advertises its veth address: {ws}"
    );

    // Two probes per namespace, each bound to its namespace's address; each run waits
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
    let run_a = lab.spawn(&ns_a, &probe, &args_a);
    let run_b = lab.spawn(&ns_b, &probe, &args_b);
    let (out_a, code_a) = lab.wait(run_a);
    let (out_b, code_b) = lab.wait(run_b);

    for (side, out, status) in [("a", &out_a, code_a), ("b", &out_b, code_b)] {
        let report: Value =
            serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{side}: {out:?}: {e}"));
        assert_eq!(status, Some(0), "{side}: {report:#}");
        assert_eq!(report["ok"], true, "{side}: {report:#}");
        let pairs = report["pairs"].as_array().expect("pairs");
        // 1 pair between its own probes, 2×2 with the other namespace's probes.
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
    drop(lab);
    drop(node_out);
    for ns in [ns_a, ns_b] {
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        assert!(
            !String::from_utf8_lossy(&list.stdout).contains(&ns),
            "{ns} was deleted"
        );
    }
}
