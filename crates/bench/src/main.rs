//! `lanmeet-bench`: the node benchmark.
//!
//! It measures a lanmeet node from the outside, over the wire (docs/PROTOCOL.md), next to
//! two references started in the same run: a bare WebSocket relay (the floor: what
//! forwarding costs with no rules at all) and the PeerJS server (a widely used
//! signaling server). `scripts/bench-node` builds everything and runs it; see the
//! crate's README for what each figure means.
//!
//! # Layout
//! - `main`: the command line (`run`, `relay`) and the run loop over the servers.
//! - `relay`: the bare relay, started as `lanmeet-bench relay`.
//! - `server`: starting servers pinned to their core, reading their RSS and CPU,
//!   creating lanmeet rooms, stopping them by PID.
//! - `wire`: each target's dialect and the timestamped marker inside every signal.
//! - `client`: one load-generator socket and the state all sockets share.
//! - `scenario`: storm, steady and memory.
//! - `report`: percentiles, the JSON, lanmeet's correctness checks; `report::table`
//!   prints the summary with lanmeet's ratios and each server's details.
//! - `sys`: `/proc`, `getrusage`, `setrlimit`.

mod client;
mod relay;
mod report;
mod scenario;
mod server;
mod sys;
mod wire;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::report::{Report, ServerResult};
use crate::scenario::Plan;
use crate::server::{Launcher, PidFile};
use crate::wire::Kind;

#[derive(Parser)]
#[command(
    name = "lanmeet-bench",
    about = "Benchmark a lanmeet node against a bare relay and the PeerJS server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the scenarios against the targets and print the table.
    Run(RunArgs),
    /// Serve as the bare relay (the floor target); prints {"port":N} when ready.
    Relay {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Use tokio's multi-thread scheduler (default: current-thread).
        #[arg(long)]
        multi_thread: bool,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The `lanmeet` binary (release build).
    #[arg(long, default_value = "target/release/lanmeet")]
    lanmeet: PathBuf,
    /// The directory where `npm ci` installed the `peer` package.
    #[arg(long, default_value = "crates/bench/peerjs")]
    peerjs_dir: PathBuf,
    /// The Node.js binary that runs PeerJS.
    #[arg(long, default_value = "node")]
    node: String,
    /// Which targets, in order.
    #[arg(long, value_delimiter = ',', default_value = "lanmeet,relay,peerjs")]
    targets: Vec<String>,
    /// Which scenarios.
    #[arg(long, value_delimiter = ',', default_value = "storm,steady,memory")]
    scenarios: Vec<String>,
    /// Smaller counts and shorter steps (about a minute), for smoke runs.
    #[arg(long)]
    quick: bool,
    /// The core the servers are pinned to (the bench itself should be pinned to
    /// another one by its caller, e.g. `taskset -c 1`).
    #[arg(long, default_value_t = 0)]
    server_core: usize,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/node.json")]
    out: PathBuf,
    /// Server logs go here.
    #[arg(long, default_value = "target/bench")]
    log_dir: PathBuf,
    /// Run the bare relay on tokio's multi-thread scheduler, as lanmeet does
    /// (default: current-thread, the leaner floor).
    #[arg(long)]
    relay_multi_thread: bool,
    /// Raise the bench's and the servers' CPU share against other sessions (needs
    /// root): a new session whose autogroup has nice -20.
    #[arg(long)]
    boost: bool,
    /// PIDs of live servers are kept in this file, for the caller's cleanup trap.
    #[arg(long)]
    pidfile: Option<PathBuf>,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Relay { port, multi_thread } => relay::serve(port, multi_thread),
        Command::Run(args) => run(args),
    }
}

fn run(args: RunArgs) -> Result<()> {
    let mut servers = Vec::new();
    for name in &args.targets {
        servers.push(Kind::parse(name).with_context(|| format!("unknown target {name:?}"))?);
    }
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    plan.storm = args.scenarios.iter().any(|s| s == "storm");
    plan.steady = args.scenarios.iter().any(|s| s == "steady");
    plan.memory = args.scenarios.iter().any(|s| s == "memory");
    if plan.steady && !plan.storm {
        bail!("steady runs on the storm's sockets: ask for storm too");
    }
    let boost = if args.boost {
        sys::boost()
    } else {
        "no".into()
    };
    let nofile = sys::raise_nofile(65_536)?;
    let need = plan
        .memory_points
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(plan.storm_rooms * scenario::ROOM_SIZE) as u64
        + 256;
    if nofile < need {
        bail!("open-file limit is {nofile}, need {need}: run `ulimit -n 65536` first");
    }
    let launcher = Launcher {
        lanmeet: args.lanmeet.clone(),
        peerjs_dir: args.peerjs_dir.clone(),
        node: args.node.clone(),
        self_exe: std::env::current_exe()?,
        core: args.server_core,
        log_dir: args.log_dir.clone(),
        max_rooms: plan.max_rooms() + 16,
        max_sockets: 8192,
        relay_multi_thread: args.relay_multi_thread,
        pids: PidFile::new(args.pidfile.clone()),
    };
    let load_cores = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Cpus_allowed_list:"))
                .map(|l| l.split_whitespace().skip(1).collect::<String>())
        })
        .unwrap_or_default();
    let mut report = Report {
        quick: args.quick,
        server_core: args.server_core,
        load_cores,
        loadavg_before: sys::loadavg(),
        boost,
        relay_runtime: if args.relay_multi_thread {
            "multi-thread"
        } else {
            "current-thread"
        }
        .into(),
        ..Report::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let base = Instant::now();
    local.block_on(&rt, async {
        for &kind in &servers {
            let mut result = ServerResult {
                server: kind.name().into(),
                ..ServerResult::default()
            };
            eprintln!("== {kind}");
            if plan.storm {
                if let Err(e) =
                    scenario::storm_and_steady(&launcher, kind, &plan, base, &mut result).await
                {
                    result.errors.push(format!("storm/steady: {e:#}"));
                }
            }
            if plan.memory {
                if let Err(e) = scenario::memory(&launcher, kind, &plan, base, &mut result).await {
                    result.errors.push(format!("memory: {e:#}"));
                }
            }
            report.servers.push(result);
        }
    });
    report.loadavg_after = sys::loadavg();
    println!("{}", report.table());
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("results written to {}", args.out.display());
    // Timing is reported, never judged; correctness is.
    let failures = report.lanmeet_failures();
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("lanmeet-bench: lanmeet misbehaved: {f}");
        }
        bail!("lanmeet failed {} correctness check(s)", failures.len());
    }
    Ok(())
}
