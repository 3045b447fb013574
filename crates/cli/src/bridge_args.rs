//! `--bridge` for `host` and `join`: a WebRTC bridge beside the node, in this process,
//! for this node's pages that have no WebRTC of their own (docs/BRIDGE.md).

use anyhow::Result;
use clap::Args;
use lanmeet_core::{BridgeInfo, Node, NodeConfig};

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct BridgeArgs {
    /// Run a WebRTC bridge for this node's pages: a browser without WebRTC on this
    /// machine calls through it (the page side comes with a later release; see
    /// docs/BRIDGE.md).
    #[arg(long, env = "LANMEET_BRIDGE")]
    pub(crate) bridge: bool,
}

/// A bridge bound before the node starts (its URL and secret go in the node's
/// configuration), started once the node is up.
pub(crate) struct PendingBridge {
    #[cfg(feature = "bridge")]
    bridge: lanmeet_bridge::Bridge,
}

/// A running bridge.
pub(crate) struct RunningBridge {
    #[cfg(feature = "bridge")]
    handle: lanmeet_bridge::BridgeHandle,
}

impl BridgeArgs {
    /// Binds the bridge's loopback listener when `--bridge` was given.
    pub(crate) async fn bind(&self) -> Result<Option<PendingBridge>> {
        if !self.bridge {
            return Ok(None);
        }
        #[cfg(feature = "bridge")]
        {
            let bridge = lanmeet_bridge::Bridge::bind_loopback().await?;
            Ok(Some(PendingBridge { bridge }))
        }
        #[cfg(not(feature = "bridge"))]
        anyhow::bail!("this lanmeet was built without the bridge (feature `bridge`)")
    }
}

impl PendingBridge {
    /// Puts the bridge's URL and secret in the node's configuration.
    pub(crate) fn configure(&self, config: &mut NodeConfig) {
        #[cfg(feature = "bridge")]
        {
            config.bridge = Some(BridgeInfo {
                url: self.bridge.url(),
                secret: self.bridge.secret().to_owned(),
            });
        }
        #[cfg(not(feature = "bridge"))]
        let _ = (config, std::any::type_name::<BridgeInfo>());
    }

    /// Starts serving the node's own pages; peers bind the local address that routes
    /// towards `room_ws` (the room's host), so their host candidate is reachable.
    pub(crate) fn start(self, node: &Node, room_ws: &str) -> RunningBridge {
        #[cfg(feature = "bridge")]
        {
            let peer_addr = lanmeet_native_peer::route::local_address_towards(room_ws)
                .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
            RunningBridge {
                handle: self.bridge.serve_node_pages(
                    node.local_addr().port(),
                    peer_addr,
                    node.lan_addresses(),
                ),
            }
        }
        #[cfg(not(feature = "bridge"))]
        {
            let _ = (node, room_ws);
            RunningBridge {}
        }
    }
}

impl RunningBridge {
    /// Ends every page session and peer connection, and waits for them.
    pub(crate) async fn shutdown(self) {
        #[cfg(feature = "bridge")]
        self.handle.shutdown().await;
    }
}
