//! `lanmeet probe CODE|INVITE`: the network doctor. Joins native WebRTC probes into
//! the room, waits until every pair connects, prints every pair (or one JSON object).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use lanmeet_core::JoinTarget;
use tokio_util::sync::CancellationToken;

use crate::node_args::NodeArgs;

#[derive(Args, Debug, Clone)]
pub(crate) struct ProbeArgs {
    /// A room code (K7M-Q2P) or an invite (lanmeet://HOST:PORT/CODE).
    target: String,
    /// How many probes to join (1-8).
    #[arg(long, default_value_t = 2)]
    peers: usize,
    /// Seconds to keep measuring once every pair is connected.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Seconds to wait for every pair to connect.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
    /// Print one JSON object ({"pairs":[{"a","b","connected","connect_ms","rtt_ms"}],…}).
    #[arg(long)]
    json: bool,
    /// The room's passcode.
    #[arg(long, env = "LANMEET_PASSCODE")]
    passcode: Option<String>,
    /// Local address for the probes' WebRTC sockets [default: the one that routes to the host].
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Also wait until the room has this many members in total (probes included).
    #[arg(long)]
    expect: Option<usize>,
    #[command(flatten)]
    node: NodeArgs,
}

fn secs(s: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{flag} must be a number of seconds"))
}

/// Returns whether every pair connected (the exit code is 1 when not).
pub(crate) async fn run(args: ProbeArgs) -> Result<bool> {
    let (ws, room) = match args.target.parse::<JoinTarget>()? {
        JoinTarget::Invite(invite) => (invite.ws_url(), invite.code().to_string()),
        JoinTarget::Code(code) => {
            // Same lookup as `lanmeet join`: a node of our own, asked to resolve.
            let mut node_args = args.node.clone();
            node_args.lan_port.get_or_insert(0);
            let stop = CancellationToken::new();
            let node = node_args.start(stop.clone()).await?;
            let ws = node.resolve(code).await;
            stop.cancel();
            node.stopped().await;
            let Some(ws) = ws else {
                bail!(
                    "no room {} was found on this network (or discovery is off): \
                       pass the invite lanmeet://HOST:PORT/CODE instead",
                    code.grouped()
                );
            };
            (ws, code.to_string())
        }
    };
    let mut options = lanmeet_probe::ProbeOptions::new(ws, room);
    options.peers = args.peers;
    options.duration = secs(args.duration, "--duration")?;
    options.connect_timeout = secs(args.timeout, "--timeout")?;
    options.passcode = args.passcode;
    options.expect_members = args.expect;
    if let Some(bind) = args.bind {
        options.bind_addr = bind;
    }
    let report = lanmeet_probe::run(options).await?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(report.ok)
}
