//! A real node in-process on 127.0.0.1, discovery off, for the integration
//! tests of the core and the probe.

use std::net::SocketAddr;
use std::time::Duration;

use lanmeet_core::{Node, NodeConfig, NodeStats, RoomCode, RoomCreated, RoomRequest};
use tokio_util::sync::CancellationToken;

use crate::PATIENCE;

/// A running node. [`TestNode::shutdown`] stops it and waits; dropping it (a
/// test that failed half-way) cancels it, so nothing outlives the test.
pub struct TestNode {
    node: Option<Node>,
    stop: CancellationToken,
    /// The control API's listener (127.0.0.1).
    pub local: SocketAddr,
    /// The peer socket's listener (also on loopback here).
    pub lan: SocketAddr,
}

impl TestNode {
    /// A node with [`NodeConfig::loopback`].
    pub async fn start() -> TestNode {
        TestNode::start_with(|_| {}).await
    }

    /// A node with [`NodeConfig::loopback`] changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut NodeConfig)) -> TestNode {
        let mut config = NodeConfig::loopback();
        tweak(&mut config);
        let stop = CancellationToken::new();
        let node = Node::start(config, stop.clone())
            .await
            .expect("node starts");
        TestNode {
            local: node.local_addr(),
            lan: node.lan_addr(),
            node: Some(node),
            stop,
        }
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node running")
    }

    pub fn room(&self) -> RoomCreated {
        self.room_with(RoomRequest::default())
    }

    pub fn room_with(&self, request: RoomRequest) -> RoomCreated {
        self.node().create_room(request).expect("room created")
    }

    pub fn close_room(&self, code: RoomCode) -> bool {
        self.node().close_room(code)
    }

    /// The peer socket's URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.lan)
    }

    pub fn stats(&self) -> NodeStats {
        self.node().stats()
    }

    /// Waits until the node's counters satisfy `done` (they change as sockets
    /// come and go; there is no event to wait on from outside). Panics after
    /// [`PATIENCE`] with the last figures.
    pub async fn settle(&self, what: &str, done: impl Fn(&NodeStats) -> bool) -> NodeStats {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: node never settled, last stats {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the node and waits until every task of it has ended.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(node) = self.node.take() {
            tokio::time::timeout(PATIENCE, node.stopped())
                .await
                .expect("node stops in time");
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
