//! The WebRTC bridge beside the node, in this process (docs/BRIDGE.md): on Linux
//! the window's WebKitGTK has no `RTCPeerConnection`, so the page runs its peer
//! connections through the bridge, which does the WebRTC part natively. The same
//! steps as `lanmeet host --bridge` (crates/cli's `bridge_args.rs`), shared in
//! `Bridge::bind_loopback` and `Bridge::serve_node_pages`; the core crate only hands
//! the page the opaque `{url, secret}` (`NodeConfig::bridge`, `GET /api/bridge`) and
//! stays free of webrtc.
//!
//! Order: bind (the URL and secret go into the node's configuration), start the
//! node, then [`PendingBridge::start`] with the node's loopback port (the only page
//! origin the bridge accepts: the window's) and the address peers bind; at exit
//! [`RunningBridge::shutdown`] ends every page session and peer connection and
//! waits for them, before the node is stopped.

use lanmeet_core::{BridgeInfo, Node};

use crate::launch::Launch;

/// A bridge bound before the node starts, not yet serving.
pub(crate) struct PendingBridge {
    #[cfg(feature = "bridge")]
    bridge: lanmeet_bridge::Bridge,
}

/// A running bridge.
pub(crate) struct RunningBridge {
    #[cfg(feature = "bridge")]
    handle: lanmeet_bridge::BridgeHandle,
}

/// Binds the bridge's loopback listener when the launch wants one (the default on
/// Linux, `LANMEET_BRIDGE` overrides). A build without the bridge says so once and
/// goes on without: the window then offers the system browser, as before.
pub(crate) async fn bind(launch: &Launch) -> anyhow::Result<Option<PendingBridge>> {
    if !launch.bridge {
        return Ok(None);
    }
    #[cfg(feature = "bridge")]
    {
        let bridge = lanmeet_bridge::Bridge::bind_loopback().await?;
        Ok(Some(PendingBridge { bridge }))
    }
    #[cfg(not(feature = "bridge"))]
    {
        tracing::warn!("LANMEET_BRIDGE=1, but this build has no bridge (feature `bridge`)");
        Ok(None)
    }
}

impl PendingBridge {
    /// What the node tells its own pages (`GET /api/bridge`).
    pub(crate) fn info(&self) -> Option<BridgeInfo> {
        #[cfg(feature = "bridge")]
        {
            Some(BridgeInfo {
                url: self.bridge.url(),
                secret: self.bridge.secret().to_owned(),
            })
        }
        #[cfg(not(feature = "bridge"))]
        None
    }

    /// Starts serving the window's page: the only origins accepted are the node's
    /// loopback UI (`http://127.0.0.1:PORT`, `http://localhost:PORT`, what
    /// `policy::Origin` lets the window show). Peers bind [`peer_address`].
    pub(crate) fn start(self, node: &Node, launch: &Launch) -> RunningBridge {
        #[cfg(feature = "bridge")]
        {
            RunningBridge {
                handle: self.bridge.serve_node_pages(
                    node.local_addr().port(),
                    peer_address(node, launch),
                    node.lan_addresses(),
                ),
            }
        }
        #[cfg(not(feature = "bridge"))]
        {
            let _ = (node, launch);
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

/// The first address the bridge's peer connections bind (their first host
/// candidate; each connection also binds every other LAN address the node reads at
/// that moment, see `Bridge::bind_lan_addresses`):
///
/// 1. launched with an invite: the local address that routes to its host;
/// 2. `LANMEET_LAN_BIND` set to an address: that one (the LAN the node serves, and
///    then the only one);
/// 3. otherwise the node's own LAN address (the one in its invites), which is
///    where the rooms it hosts and the nearby rooms it finds are.
#[cfg(feature = "bridge")]
fn peer_address(node: &Node, launch: &Launch) -> std::net::IpAddr {
    let towards_invite = launch.room.as_deref().and_then(|room| match room.parse() {
        Ok(lanmeet_core::JoinTarget::Invite(invite)) => {
            lanmeet_native_peer::route::local_address_towards(&invite.ws_url())
        }
        _ => None,
    });
    let bound = launch.lan_bind.filter(|ip| !ip.is_unspecified());
    towards_invite
        .or(bound)
        .or_else(|| lan_host(&node.lan_url()))
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// The IP address in the node's LAN URL (`http://HOST:PORT`, `[v6]` bracketed).
#[cfg(feature = "bridge")]
fn lan_host(lan_url: &str) -> Option<std::net::IpAddr> {
    let authority = lan_url.strip_prefix("http://")?;
    authority
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
}

#[cfg(all(test, feature = "bridge"))]
mod tests {
    use super::*;

    #[test]
    fn the_lan_host_comes_from_the_node_url() {
        assert_eq!(
            lan_host("http://10.77.0.1:7878"),
            Some(std::net::IpAddr::from([10, 77, 0, 1]))
        );
        assert_eq!(lan_host("http://[fe80::1]:7878"), "fe80::1".parse().ok());
        assert_eq!(lan_host("http://0.0.0.0:7878"), None);
        assert_eq!(lan_host("https://10.0.0.1:1"), None);
        assert_eq!(lan_host("http://name.local:7878"), None);
    }
}
