//! Node flags shared by `host` and `join`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use lanmeet_core::config::DEFAULT_LAN_PORT;
use lanmeet_core::{Node, NodeConfig, NodeError};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub(crate) struct NodeArgs {
    /// This node's name, as friends see it in "Nearby rooms" (default: host name).
    #[arg(long, env = "LANMEET_NODE_NAME")]
    pub(crate) node_name: Option<String>,
    /// Port of the local listener (UI and control API, 127.0.0.1 only); 0 = any.
    #[arg(long, default_value_t = 0)]
    pub(crate) local_port: u16,
    /// Port of the LAN listener that guests connect to; 0 = any
    /// [default: 7878, or any free port if 7878 is taken].
    #[arg(long)]
    pub(crate) lan_port: Option<u16>,
    /// Address the LAN listener binds (default: all interfaces).
    #[arg(long, default_value = "0.0.0.0")]
    pub(crate) lan_bind: IpAddr,
    /// Seconds a dropped participant's place is held for them to reconnect.
    #[arg(long, default_value_t = 15)]
    pub(crate) grace_secs: u64,
    /// Seconds between WebSocket pings (two unanswered pings drop a socket).
    #[arg(long, default_value_t = 10)]
    pub(crate) ping_secs: u64,
    /// Seconds a new socket has to send `join`.
    #[arg(long, default_value_t = 5)]
    pub(crate) join_timeout_secs: u64,
    /// Rooms this node hosts at most.
    #[arg(long, default_value_t = 1024)]
    pub(crate) max_rooms: usize,
    /// Open peer sockets at most.
    #[arg(long, default_value_t = 8192)]
    pub(crate) max_sockets: usize,
    /// Connections, and peer sockets not yet in a room, that one LAN address may
    /// hold at once [default: 64 connections, 16 such sockets]. Raise it for load
    /// tests that come from a single address.
    #[arg(long)]
    pub(crate) max_per_address: Option<usize>,
    /// Do not use mDNS (no "Nearby rooms"; invites still work).
    #[arg(long, env = "LANMEET_NO_DISCOVERY")]
    pub(crate) no_discovery: bool,
    /// Limit discovery to these interfaces (comma-separated names).
    #[arg(long, env = "LANMEET_INTERFACES", value_delimiter = ',')]
    pub(crate) interfaces: Vec<String>,
    /// Where lanmeet keeps the HTTPS certificate browser guests see (made on
    /// first start, reused after) [default: the user's data directory, e.g.
    /// $XDG_DATA_HOME/lanmeet or ~/.local/share/lanmeet].
    #[arg(long, env = "LANMEET_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// No HTTPS on the LAN port: browsers without lanmeet cannot join.
    #[arg(long, env = "LANMEET_NO_GUESTS")]
    pub(crate) no_guests: bool,
}

impl NodeArgs {
    pub(crate) fn config(&self, lan_port: u16) -> Result<NodeConfig> {
        anyhow::ensure!(self.grace_secs <= 3600, "--grace-secs is at most 3600");
        anyhow::ensure!(self.ping_secs >= 1, "--ping-secs must be at least 1");
        anyhow::ensure!(
            self.join_timeout_secs >= 1,
            "--join-timeout-secs must be at least 1"
        );
        let mut config = NodeConfig {
            local_port: self.local_port,
            lan_port,
            lan_bind: self.lan_bind,
            discovery: !self.no_discovery,
            interfaces: self.interfaces.clone(),
            data_dir: self.data_dir(),
            ..NodeConfig::default()
        };
        if let Some(name) = &self.node_name {
            config.name = name.clone();
        }
        config.limits.grace = Duration::from_secs(self.grace_secs);
        config.limits.ping_interval = Duration::from_secs(self.ping_secs);
        config.limits.join_timeout = Duration::from_secs(self.join_timeout_secs);
        config.limits.max_rooms = self.max_rooms;
        config.limits.max_sockets = self.max_sockets;
        if let Some(n) = self.max_per_address {
            config.limits.max_connections_per_address = n;
            config.limits.max_unjoined_per_address = n;
        }
        Ok(config)
    }

    /// The data directory, `None` with `--no-guests` or when the system names
    /// none (no home directory).
    fn data_dir(&self) -> Option<PathBuf> {
        if self.no_guests {
            return None;
        }
        let dir = self
            .data_dir
            .clone()
            .or_else(|| dirs::data_dir().map(|d| d.join("lanmeet")));
        if dir.is_none() {
            tracing::warn!(
                "no data directory (no home?): browser guests cannot join; give --data-dir"
            );
        }
        dir
    }

    /// Starts the node with `tweak` applied to the configuration (the relay, ICE
    /// servers, the bridge); without an explicit `--lan-port`, falls back to any free
    /// port when 7878 is taken (e.g. a second lanmeet on the same machine).
    pub(crate) async fn start_with(
        &self,
        stop: CancellationToken,
        tweak: impl Fn(&mut NodeConfig),
    ) -> Result<Node> {
        let port = self.lan_port.unwrap_or(DEFAULT_LAN_PORT);
        let config = |port| {
            self.config(port).map(|mut c| {
                tweak(&mut c);
                c
            })
        };
        match Node::start(config(port)?, stop.clone()).await {
            Err(NodeError::Bind { addr, .. })
                if self.lan_port.is_none() && addr.port() == DEFAULT_LAN_PORT =>
            {
                tracing::warn!(
                    "port {DEFAULT_LAN_PORT} is taken; guests will use another port (it is in the invite)"
                );
                Ok(Node::start(config(0)?, stop).await?)
            }
            other => other.context("could not start the lanmeet node"),
        }
    }
}
