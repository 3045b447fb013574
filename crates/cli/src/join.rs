//! `lanmeet join CODE|INVITE`: a node of our own (for the UI) and the browser
//! pointed at someone else's room.

use anyhow::{Result, bail};
use clap::Args;
use lanmeet_core::JoinTarget;
use tokio_util::sync::CancellationToken;

use crate::bridge_args::BridgeArgs;
use crate::browser;
use crate::node_args::NodeArgs;

#[derive(Args, Debug, Clone)]
pub(crate) struct JoinArgs {
    /// A room code (K7M-Q2P) or an invite (lanmeet://HOST:PORT/CODE).
    target: String,
    /// Print the UI's URL instead of opening a browser.
    #[arg(long)]
    no_open: bool,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    bridge: BridgeArgs,
}

pub(crate) async fn run(args: JoinArgs) -> Result<()> {
    let target: JoinTarget = args.target.parse()?;
    let mut node_args = args.node.clone();
    // A guest's node needs no fixed LAN port; leave 7878 to hosts.
    node_args.lan_port.get_or_insert(0);
    let stop = CancellationToken::new();
    let bridge = args.bridge.bind().await?;
    let node = node_args
        .start_with(stop.clone(), |c| {
            if let Some(bridge) = &bridge {
                bridge.configure(c);
            }
        })
        .await?;
    let (room, room_ws) = match &target {
        JoinTarget::Invite(invite) => (invite.to_string(), invite.ws_url()),
        JoinTarget::Code(code) => {
            let Some(ws) = node.resolve(*code).await else {
                stop.cancel();
                node.stopped().await;
                if args.node.no_discovery {
                    bail!(
                        "discovery is off (--no-discovery), so room {} cannot be looked up by its code. \
                         Ask the host for the invite (lanmeet://…) and run `lanmeet join INVITE`.",
                        code.grouped()
                    );
                }
                bail!(
                    "no room {} was found on this network. Things to check:\n{}",
                    code.grouped(),
                    crate::rooms::hints()
                );
            };
            tracing::info!(%ws, "found the room");
            (code.to_string(), ws)
        }
    };
    let bridge = bridge.map(|b| b.start(&node, &room_ws));
    let ui = format!("{}?room={}", node.local_url(), percent_encode(&room));
    println!("Open {ui} to join the call. Press Ctrl-C to quit.");
    if !args.no_open && !browser::open(&ui) {
        println!("(Could not open a browser: open the URL above.)");
    }
    crate::shutdown_signal().await;
    if let Some(bridge) = bridge {
        bridge.shutdown().await;
    }
    stop.cancel();
    node.stopped().await;
    Ok(())
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_invites_for_a_query_string() {
        assert_eq!(
            percent_encode("lanmeet://1.2.3.4:7878/K7MQ2P"),
            "lanmeet%3A%2F%2F1.2.3.4%3A7878%2FK7MQ2P"
        );
    }
}
