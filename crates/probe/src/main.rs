//! `lanmeet-probe`: the probe library from the command line, until (and besides)
//! `lanmeet probe`. Joins N probes into a room, waits for the mesh, prints the matrix
//! (or `--json`), exits non-zero when a pair failed. `--bench 2,4,8` times mesh setup.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use lanmeet_probe::{ProbeOptions, parse_target, run};

#[derive(Debug, Parser)]
#[command(
    name = "lanmeet-probe",
    version,
    about = "Can everyone in a lanmeet room reach everyone? Joins headless WebRTC probes and reports every pair."
)]
struct Cli {
    /// Room code (with --ws) or invite `lanmeet://HOST:PORT/CODE`.
    target: String,
    /// The room's peer-socket URL, e.g. ws://127.0.0.1:7878/ws (needed with a bare code).
    #[arg(long)]
    ws: Option<String>,
    /// How many probes to join (1–8).
    #[arg(long, default_value_t = 2)]
    peers: usize,
    /// Seconds to keep measuring once the mesh is up.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Seconds to wait for every pair to connect.
    #[arg(long, default_value_t = 20.0)]
    timeout: f64,
    /// Also wait until the room has this many members in total (probes included).
    #[arg(long)]
    expect: Option<usize>,
    /// Print one JSON object instead of the matrix.
    #[arg(long)]
    json: bool,
    /// Probes are named PREFIX-1 … PREFIX-N.
    #[arg(long, default_value = "probe")]
    name: String,
    /// The room's passcode.
    #[arg(long)]
    passcode: Option<String>,
    /// Local address for the WebRTC sockets (its host candidate) [default: the address
    /// that routes to the room's node: loopback for a node on this machine].
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Offer recvonly audio/video so browsers send media in the first negotiation.
    #[arg(long)]
    recv_media: bool,
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
}

/// Default log filter: our warnings, but only errors from the WebRTC stack, which warns
/// about normal events (e.g. checks before the remote candidates arrive).
const QUIET_WEBRTC: &str =
    "warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,webrtc=error";

fn secs(s: f64, what: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what} must be a number of seconds ≥ 0"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(QUIET_WEBRTC)),
        )
        .with_writer(std::io::stderr)
        .init();
    match real_main(Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("lanmeet-probe: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<bool> {
    let target = parse_target(&cli.target)?;
    let ws_url = match (cli.ws.clone(), target.ws_url) {
        (Some(ws), _) => ws,
        (None, Some(ws)) => ws,
        (None, None) => {
            bail!("a bare room code needs --ws URL (or pass the invite lanmeet://HOST:PORT/CODE)")
        }
    };
    let mut options = ProbeOptions::new(ws_url, target.room);
    options.peers = cli.peers;
    options.duration = secs(cli.duration, "--duration")?;
    options.connect_timeout = secs(cli.timeout, "--timeout")?;
    options.expect_members = cli.expect;
    options.name_prefix = cli.name.clone();
    options.passcode = cli.passcode.clone();
    if let Some(bind) = cli.bind {
        options.bind_addr = bind;
    }
    options.recv_media = cli.recv_media;
    options.ice_servers = cli.ice_servers.clone();

    if let Some(sizes) = cli.bench.clone() {
        return bench(options, &sizes, cli.rounds, cli.json).await;
    }

    let report = run(options).await?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{report}");
    }
    Ok(report.ok)
}

/// Times mesh setup for each N; prints min / median / max per N.
async fn bench(
    mut options: ProbeOptions,
    sizes: &[usize],
    rounds: usize,
    json: bool,
) -> anyhow::Result<bool> {
    options.duration = Duration::ZERO;
    let mut all_ok = true;
    let mut rows = Vec::new();
    if !json {
        println!("mesh setup: from the last join until every pair's data channel is open");
        println!(
            "{:>3} {:>6} {:>8} {:>10} {:>10} {:>10}",
            "N", "pairs", "rounds", "min ms", "median ms", "max ms"
        );
    }
    for &n in sizes {
        options.peers = n;
        let mut samples = Vec::new();
        for _ in 0..rounds {
            let report = run(options.clone()).await?;
            match report.mesh_ms {
                Some(ms) if report.ok => samples.push(ms),
                _ => {
                    all_ok = false;
                    eprintln!("N={n}: a round failed:\n{report}");
                }
            }
        }
        samples.sort_by(f64::total_cmp);
        let median = samples.get(samples.len() / 2).copied();
        let row = serde_json::json!({
            "n": n,
            "pairs": n * (n - 1) / 2,
            "rounds": samples.len(),
            "min_ms": samples.first(),
            "median_ms": median,
            "max_ms": samples.last(),
            "samples_ms": samples,
        });
        if !json {
            let f = |v: Option<f64>| v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into());
            println!(
                "{:>3} {:>6} {:>8} {:>10} {:>10} {:>10}",
                n,
                n * (n - 1) / 2,
                samples.len(),
                f(samples.first().copied()),
                f(median),
                f(samples.last().copied())
            );
        }
        rows.push(row);
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "bench": "mesh_setup", "results": rows })
        );
    }
    Ok(all_ok)
}
