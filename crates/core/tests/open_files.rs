//! The node under a flood of idle LAN connections when the process may open few
//! files, as on a desktop with the common limit of 1,024.
//!
//! The node runs in a child process (this test binary, re-run for its ignored
//! `child_node` test) whose open-file limit the parent chooses, so the attacker's
//! own sockets do not count against the node's limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::{Client, connect_from, health_from, post, start_node};

const CHILD_ENV: &str = "LANMEET_TEST_CHILD_NOFILE";

/// Not a test of its own: the node of the tests below, in a process of its own.
/// Prints `CHILD-READY <local> <lan> <soft limit>` and serves until stdin closes.
#[tokio::test]
#[ignore = "run by the other tests of this file, in a child process"]
async fn child_node() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (soft, hard) = spec.split_once(',').expect("soft,hard");
    rlimit::setrlimit(
        rlimit::Resource::NOFILE,
        soft.parse().unwrap(),
        hard.parse().unwrap(),
    )
    .expect("lower the open-file limit");
    let node = start_node().await;
    let (soft_now, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
    println!("CHILD-READY {} {} {soft_now}", node.local, node.lan);
    // Until the parent closes our stdin (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .unwrap();
    node.shutdown().await;
}

/// A node in a child process with the open-file limit `soft`/`hard`. Killed (by
/// its PID) when dropped.
struct ChildNode {
    child: std::process::Child,
    local: SocketAddr,
    lan: SocketAddr,
    /// The soft open-file limit once the node had started.
    soft_limit: u64,
}

impl ChildNode {
    fn start(soft: u64, hard: u64) -> ChildNode {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child_node", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, format!("{soft},{hard}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the child node");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = loop {
            let line = lines
                .next()
                .expect("the child printed CHILD-READY")
                .unwrap();
            if let Some(rest) = line.strip_prefix("CHILD-READY ") {
                break rest.to_owned();
            }
        };
        let mut parts = ready.split(' ');
        ChildNode {
            local: parts.next().unwrap().parse().unwrap(),
            lan: parts.next().unwrap().parse().unwrap(),
            soft_limit: parts.next().unwrap().parse().unwrap(),
            child,
        }
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn starting_a_node_raises_the_soft_open_file_limit_to_the_hard_one() {
    let child = tokio::task::spawn_blocking(|| ChildNode::start(256, 2048))
        .await
        .unwrap();
    assert_eq!(child.soft_limit, 2048);
}

#[tokio::test]
async fn the_local_ui_works_while_idle_lan_connections_exceed_the_open_file_limit() {
    let child = tokio::task::spawn_blocking(|| ChildNode::start(512, 512))
        .await
        .unwrap();
    // 16 hosts, 48 connections each that never send a byte: 768 in all, more
    // than the node may have files open.
    let mut flood = Vec::new();
    for host in 2..18 {
        for _ in 0..48 {
            flood.push(connect_from(host, child.lan).await);
        }
    }
    assert_eq!(
        health_from(1, child.local).await,
        Some(200),
        "GET /api/health on the local listener"
    );
    let created = post(child.local, "/api/rooms", "{}").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let code = created.json()["code"].as_str().unwrap().to_owned();
    let url = format!("ws://{}/ws", child.local);
    let (_a, _b) = Client::pair(&url, &code).await;
    drop(flood);
}
