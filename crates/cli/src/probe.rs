//! `lanmeet probe CODE|INVITE`: the network doctor. Joins native WebRTC probes into
//! the room, waits until every pair connects, prints every pair (or one JSON object).
//! With `--bench 2,4,8` it times mesh setup instead, for each N over `--rounds`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use lanmeet_core::JoinTarget;
use lanmeet_probe::{Clip, MESH_SETUP_TITLE, MeshSetup, ProbeOptions, time_mesh_setup};
use tokio_util::sync::CancellationToken;

use crate::node_args::NodeArgs;

#[derive(Args, Debug, Clone)]
pub(crate) struct ProbeArgs {
    /// A room code (K7M-Q2P) or an invite (lanmeet://HOST:PORT/CODE).
    target: String,
    /// The room's peer-socket URL, e.g. ws://192.168.1.20:7878/ws: a bare code is then
    /// not looked up on the network.
    #[arg(long)]
    ws: Option<String>,
    /// How many probes to join (1-8).
    #[arg(long, default_value_t = 2)]
    peers: usize,
    /// Seconds to keep measuring once every pair is connected.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Seconds to wait for every pair to connect.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
    /// Print one JSON object ({"pairs":[{"a","b","connected","connect_ms","rtt_ms","via","selected_pair"}],…}).
    #[arg(long)]
    json: bool,
    /// Probes are named NAME-1 … NAME-N.
    #[arg(long, default_value = "probe")]
    name: String,
    /// The room's passcode.
    #[arg(long, env = "LANMEET_PASSCODE")]
    passcode: Option<String>,
    /// Local address for the probes' WebRTC sockets [default: the one that routes to the host].
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Also wait until the room has this many members in total (probes included).
    #[arg(long)]
    expect: Option<usize>,
    /// After --duration, keep measuring until this many chat messages have arrived
    /// (at most --timeout seconds more).
    #[arg(long)]
    expect_chats: Option<usize>,
    /// Offer recvonly audio/video, so browsers send media in the first negotiation.
    #[arg(long)]
    recv_media: bool,
    /// Every probe sends this VP8 clip (an IVF file) as its camera, looped, e.g. made
    /// with `ffmpeg -f lavfi -i testsrc2=size=640x360:rate=30 -t 10 -c:v libvpx clip.ivf`.
    #[arg(long, value_name = "FILE.ivf")]
    send_video: Option<PathBuf>,
    /// Every probe sends this Opus clip (an Ogg file, packets of one duration) as its
    /// microphone, looped, e.g. made with `ffmpeg -i talk.wav -c:a libopus clip.ogg`.
    #[arg(long, value_name = "FILE.ogg")]
    send_audio: Option<PathBuf>,
    /// A STUN/TURN server URL (repeatable); none by default.
    #[arg(long = "ice-server")]
    ice_servers: Vec<String>,
    /// Benchmark instead: for each N in the list, time from the last join until all
    /// pairs are connected, over --rounds rounds.
    #[arg(long, value_delimiter = ',')]
    bench: Option<Vec<usize>>,
    /// Rounds per N for --bench.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    #[command(flatten)]
    node: NodeArgs,
}

fn secs(s: f64, flag: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{flag} must be a number of seconds"))
}

/// Returns whether every pair connected (the exit code is 1 when not).
pub(crate) async fn run(args: ProbeArgs) -> Result<bool> {
    let target: JoinTarget = args.target.parse()?;
    let (ws, room) = match (args.ws.clone(), target) {
        (Some(ws), JoinTarget::Invite(invite)) => (ws, invite.code().to_string()),
        (Some(ws), JoinTarget::Code(code)) => (ws, code.to_string()),
        (None, JoinTarget::Invite(invite)) => (invite.ws_url(), invite.code().to_string()),
        (None, JoinTarget::Code(code)) => (resolve(&args.node, code).await?, code.to_string()),
    };
    let mut options = ProbeOptions::new(ws, room);
    options.peers = args.peers;
    options.duration = secs(args.duration, "--duration")?;
    options.connect_timeout = secs(args.timeout, "--timeout")?;
    options.expect_members = args.expect;
    options.expect_chats = args.expect_chats;
    options.name_prefix = args.name;
    options.passcode = args.passcode;
    if let Some(bind) = args.bind {
        options.bind_addr = bind;
    }
    options.recv_media = args.recv_media;
    options.ice_servers = args.ice_servers;
    if let Some(path) = &args.send_video {
        options.send_media.video = Some(Arc::new(Clip::read_ivf(path)?));
    }
    if let Some(path) = &args.send_audio {
        options.send_media.audio = Some(Arc::new(Clip::read_ogg_opus(path)?));
    }
    if let Some(sizes) = args.bench {
        return bench(&options, &sizes, args.rounds, args.json).await;
    }
    // Ctrl-C or SIGTERM ends the run early, the probes leaving as at its end.
    let stop = options.stop.clone();
    let signal = tokio::spawn(async move {
        crate::shutdown_signal().await;
        stop.cancel();
    });
    let report = lanmeet_probe::run(options).await;
    signal.abort();
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(report.ok)
}

/// Looks a bare code up as `lanmeet join` does: a node of our own, asked to resolve.
async fn resolve(node_args: &NodeArgs, code: lanmeet_core::RoomCode) -> Result<String> {
    let mut node_args = node_args.clone();
    node_args.lan_port.get_or_insert(0);
    let stop = CancellationToken::new();
    let node = node_args.start_with(stop.clone(), |_| {}).await?;
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
    Ok(ws)
}

/// Times mesh setup for each N; prints min / median / max per N as it goes (or one
/// JSON object at the end). Returns whether every round connected.
async fn bench(options: &ProbeOptions, sizes: &[usize], rounds: usize, json: bool) -> Result<bool> {
    if !json {
        println!("{MESH_SETUP_TITLE}");
        println!("{}", MeshSetup::header());
    }
    let mut all_ok = true;
    let mut results = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let row = time_mesh_setup(options, n, rounds).await?;
        for report in &row.failed {
            eprintln!("N={n}: a round failed:\n{report}");
        }
        all_ok &= row.failed.is_empty();
        if !json {
            println!("{row}");
        }
        results.push(row);
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "bench": "mesh_setup", "results": results })
        );
    }
    Ok(all_ok)
}
