//! `lanmeet host`'s relay and ICE server flags.
//!
//! The relay (crate `lanmeet-relay`) runs beside the node on a port of its own,
//! next to the LAN listener's, so people who reach the host but not each other
//! still get a call. `--ice-server` adds servers a person runs themselves; both
//! reach members in `welcome`. Nothing on the internet is used by default.

use anyhow::{Context, Result};
use clap::Args;
use lanmeet_core::{IceServer, NodeConfig};
use lanmeet_relay::{Relay, RelayConfig};

use crate::node_args::NodeArgs;

#[derive(Args, Debug, Clone)]
pub(crate) struct RelayArgs {
    /// Run no TURN relay: people who cannot reach each other directly then cannot
    /// call each other.
    #[arg(long, env = "LANMEET_NO_RELAY")]
    pub(crate) no_relay: bool,
    /// Port of the relay (UDP and TCP) [default: the LAN port + 1, or any free
    /// port if that is taken].
    #[arg(long)]
    pub(crate) relay_port: Option<u16>,
    /// A STUN or TURN server you run, handed to everyone in the room (repeatable):
    /// stun:HOST[:PORT] or turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp].
    #[arg(long = "ice-server", value_name = "URL")]
    pub(crate) ice_servers: Vec<IceServer>,
}

impl RelayArgs {
    /// Starts the relay (unless `--no-relay`) and sets `config` to hand it and the
    /// `--ice-server`s out.
    pub(crate) async fn start(
        &self,
        node: &NodeArgs,
        config: &mut NodeConfig,
    ) -> Result<Option<Relay>> {
        config.ice_servers = self.ice_servers.clone();
        if self.no_relay {
            return Ok(None);
        }
        // Next to the LAN listener's port; "any" when that is "any".
        let lan_port = node
            .lan_port
            .unwrap_or(lanmeet_core::config::DEFAULT_LAN_PORT);
        let port = self.relay_port.unwrap_or(match lan_port {
            0 => 0,
            p => p.saturating_add(1),
        });
        let relay_config = |port| RelayConfig {
            bind: node.lan_bind,
            port,
            ..RelayConfig::default()
        };
        let relay = match Relay::start(relay_config(port)).await {
            Ok(relay) => relay,
            Err(e) if self.relay_port.is_none() && port != 0 => {
                tracing::warn!("{e}; the relay uses another port (members are told which)");
                Relay::start(relay_config(0))
                    .await
                    .context("could not start the relay")?
            }
            Err(e) => return Err(e).context("could not start the relay"),
        };
        config.ice_grants = Some(relay.grants());
        Ok(Some(relay))
    }
}
