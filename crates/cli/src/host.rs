//! `lanmeet host`: open a room and keep the node running until Ctrl-C.

use anyhow::Result;
use clap::Args;
use lanmeet_core::{NodeConfig, RoomRequest};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::bridge_args::BridgeArgs;
use crate::browser;
use crate::node_args::NodeArgs;
use crate::relay_args::RelayArgs;

#[derive(Args, Debug, Clone)]
pub(crate) struct HostArgs {
    /// The room's name (default: its code).
    #[arg(long)]
    name: Option<String>,
    /// A passcode guests must enter.
    #[arg(long, env = "LANMEET_PASSCODE")]
    passcode: Option<String>,
    /// People the room holds at most (2-8).
    #[arg(long, default_value_t = 8)]
    capacity: usize,
    /// Keep the room out of "Nearby rooms" (guests need the code or invite).
    #[arg(long)]
    unlisted: bool,
    /// Print the UI's URL instead of opening a browser.
    #[arg(long)]
    no_open: bool,
    /// Print one JSON line {"code","invite","local","ws","lan","guest","fingerprint","relay"}
    /// once ready ("guest": the HTTPS link for browsers, null without one; "relay":
    /// the relay's port, null with --no-relay).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    relay: RelayArgs,
    #[command(flatten)]
    bridge: BridgeArgs,
}

pub(crate) async fn run(args: HostArgs) -> Result<()> {
    let stop = CancellationToken::new();
    let mut extra = NodeConfig::default();
    let bridge = args.bridge.bind().await?;
    if let Some(bridge) = &bridge {
        bridge.configure(&mut extra);
    }
    let relay = args.relay.start(&args.node, &mut extra).await?;
    let node = args
        .node
        .start_with(stop.clone(), |c| {
            c.ice_servers = extra.ice_servers.clone();
            c.ice_grants = extra.ice_grants.clone();
            c.bridge = extra.bridge.clone();
        })
        .await;
    let node = match node {
        Ok(node) => node,
        Err(err) => {
            if let Some(relay) = relay {
                relay.close().await;
            }
            return Err(err);
        }
    };
    let room = match node.create_room(RoomRequest {
        name: args.name.clone(),
        listed: Some(!args.unlisted),
        passcode: args.passcode.clone(),
        capacity: Some(args.capacity),
    }) {
        Ok(room) => room,
        Err(err) => {
            stop.cancel();
            node.stopped().await;
            if let Some(relay) = relay {
                relay.close().await;
            }
            return Err(err.into());
        }
    };
    let bridge = bridge.map(|b| b.start(&node, &room.ws));
    let ui = format!("{}?room={}", node.local_url(), room.code);
    let guest = node.guest_url(room.code);
    let fingerprint = node.guest_fingerprint();
    if args.json {
        let line = json!({
            "code": room.code, "invite": room.invite, "local": node.local_url(),
            "ws": room.ws, "lan": node.lan_url(), "guest": guest, "fingerprint": fingerprint,
            "relay": relay.as_ref().map(|r| r.udp_addr().port()),
        });
        println!("{line}");
    } else {
        println!("lanmeet is hosting \"{}\"", room.name);
        println!();
        println!("  Room code   {}", room.code.grouped());
        println!("  Invite      {}", room.invite);
        println!("  Open        {ui}");
        match &relay {
            Some(relay) => println!(
                "  Relay       port {} (UDP and TCP), for people who cannot reach each other",
                relay.udp_addr().port()
            ),
            None => println!("  Relay       off (--no-relay)"),
        }
        if let (Some(guest), Some(fingerprint)) = (&guest, fingerprint) {
            println!();
            println!("  Browser guests (phones, laptops without lanmeet) open");
            println!("              {guest}");
            println!("  The browser warns about the certificate once; its SHA-256");
            println!("  fingerprint must read");
            println!("              {fingerprint}");
        }
        if bridge.is_some() {
            println!("  Bridge      on: WebRTC for this machine's pages that have none");
        }
        if room.listed && args.node.no_discovery {
            println!();
            println!("  Discovery is off: friends join with the invite.");
        }
        println!();
        println!("Friends on this network join with the code (or the invite).");
        println!("Press Ctrl-C to end the call for everyone.");
    }
    if !args.no_open && !browser::open(&ui) && !args.json {
        println!("(Could not open a browser: open the URL above.)");
    }
    crate::shutdown_signal().await;
    tracing::info!("ending the call");
    if let Some(bridge) = bridge {
        bridge.shutdown().await;
    }
    stop.cancel();
    node.stopped().await;
    if let Some(relay) = relay {
        relay.close().await;
    }
    Ok(())
}
