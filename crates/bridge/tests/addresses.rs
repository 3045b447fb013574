//! Which host candidates a bridged connection offers: the peer address, and every
//! address the node's LAN source gives at the time the connection is made (one socket
//! each), as a browser gathers on every interface. Real sockets: the "second
//! interface" is another loopback address (all of 127/8 is this machine's).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use lanmeet_bridge::{Bridge, BridgeConfig};
use serde_json::{Value, json};

const SECOND: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const THIRD: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// Connections 1 and 2 of one page negotiate with each other (1 offers with a data
/// channel, 2 answers); returns the addresses of each one's host candidates, once
/// each has signaled the end of its candidates. (A bridged offerer holds its
/// candidates until the answer, as docs/BRIDGE.md says: hence a whole negotiation.)
async fn gathered(
    page: &Page,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
) -> (Vec<IpAddr>, Vec<IpAddr>) {
    page.ok(json!({"op": "createPeer", "pc": 1})).await;
    page.ok(json!({"op": "createDataChannel", "pc": 1, "channel": 1, "label": "lanmeet"}))
        .await;
    let offer = page.ok(json!({"op": "setLocalDescription", "pc": 1})).await;
    page.ok(json!({"op": "createPeer", "pc": 2})).await;
    page.ok(json!({"op": "setRemoteDescription", "pc": 2, "description": offer["description"]}))
        .await;
    let answer = page.ok(json!({"op": "setLocalDescription", "pc": 2})).await;
    page.ok(json!({"op": "setRemoteDescription", "pc": 1, "description": answer["description"]}))
        .await;
    let mut addrs = [Vec::new(), Vec::new()];
    let mut done = [false, false];
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !(done[0] && done[1]) {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("both end their candidates")
            .expect("page open");
        let Some(i) = e["pc"]
            .as_u64()
            .and_then(|pc| usize::try_from(pc).ok())
            .filter(|pc| (1..=2).contains(pc))
        else {
            continue;
        };
        if e["event"] != "icecandidate" {
            continue;
        }
        let c = &e["candidate"];
        if c.is_null() {
            done[i - 1] = true;
            continue;
        }
        // `candidate:F C udp P ADDRESS PORT typ host`
        let line = c["candidate"].as_str().unwrap_or_default();
        if let Some(ip) = line.split(' ').nth(4).and_then(|a| a.parse().ok()) {
            addrs[i - 1].push(ip);
        }
    }
    for pc in [1, 2] {
        page.ok(json!({"op": "closePeer", "pc": pc})).await;
    }
    let [mut a, mut b] = addrs;
    a.sort();
    b.sort();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_offers_every_lan_address_read_when_it_is_made() {
    let mut bridge = Bridge::bind(BridgeConfig::new(IpAddr::V4(Ipv4Addr::LOCALHOST)))
        .await
        .expect("bridge binds");
    bridge.allow_origins(vec![ORIGIN.to_owned()]);
    // The machine's interfaces as the node reads them: a second one, then a third
    // that "came up" later. The peer address itself and another family are left out.
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = reads.clone();
    bridge.bind_lan_addresses(move || {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        let mut v = vec![
            SECOND,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        if n > 0 {
            v.push(THIRD);
        }
        v
    });
    let (url, secret) = (bridge.url(), bridge.secret().to_owned());
    let handle = bridge.spawn();
    let (page, mut events, _frames) = Page::connect(&url, &secret, Some(ORIGIN))
        .await
        .expect("bridge accepts the page");

    let (first, second) = gathered(&page, &mut events).await;
    assert_eq!(
        first,
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST), SECOND],
        "one host candidate per address"
    );
    assert_eq!(
        second,
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST), SECOND, THIRD],
        "an address that appeared since is used by the next connection"
    );
    assert_eq!(reads.load(Ordering::SeqCst), 2, "read once per connection");

    page.close().await;
    handle.shutdown().await;
}
