//! `lanmeet`: a node without a window. `host` opens a room and prints its code;
//! `join` opens a room someone else hosts. Both serve the call UI on loopback and
//! open it in the default browser. `rooms` lists the rooms nearby; `probe` checks
//! that everyone in a room can reach everyone.

mod bridge_args;
mod browser;
mod host;
mod join;
mod node_args;
#[cfg(feature = "probe")]
mod probe;
mod relay_args;
mod rooms;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "lanmeet",
    version,
    about = "Video calls on your local network: no account, no cloud.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// More log output (-v: info, -vv: debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a command, lanmeet hosts a room.
    #[command(flatten)]
    host: host::HostArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Host a room and print its code and invite (the default command).
    Host(host::HostArgs),
    /// Join a room by its code or invite (lanmeet://HOST:PORT/CODE).
    Join(join::JoinArgs),
    /// List the rooms hosted nearby (found over mDNS) and exit.
    Rooms(rooms::RoomsArgs),
    /// Check that everyone in a room can reach everyone: joins headless WebRTC
    /// probes and reports every pair (exit code 1 when a pair failed).
    #[cfg(feature = "probe")]
    Probe(probe::ProbeArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let all_ok = runtime.block_on(async move {
        match cli.command {
            Some(Command::Host(args)) => host::run(args).await.map(|()| true),
            Some(Command::Join(args)) => join::run(args).await.map(|()| true),
            Some(Command::Rooms(args)) => rooms::run(args).await.map(|()| true),
            #[cfg(feature = "probe")]
            Some(Command::Probe(args)) => probe::run(args).await,
            None => host::run(cli.host).await.map(|()| true),
        }
    })?;
    drop(runtime);
    if !all_ok {
        std::process::exit(1);
    }
    Ok(())
}

fn init_logs(verbose: u8) {
    let default = match verbose {
        // The WebRTC stack (probe) warns about normal events, such as checks sent
        // before the remote candidates arrive.
        0 => {
            "warn,lanmeet=info,lanmeet_core=warn,lanmeet_probe=warn,lanmeet_relay=info,turn=off,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,webrtc=error"
        }
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Resolves when the user presses Ctrl-C or the process gets SIGTERM, and from then on
/// a second one ends the process at once (exit code 128 + the signal: 130 for Ctrl-C,
/// 143 for SIGTERM). Why: the first starts a
/// clean leave (goodbyes, close handshakes, each bounded in time), and while that runs
/// the signal is still ours, so without this a person pressing Ctrl-C again, because a
/// peer never answers, would be ignored.
#[cfg(unix)]
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    // The same listeners: a signal that comes before this task first runs is kept.
    tokio::spawn(async move {
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        };
        stop_at_once(code);
    });
}

/// As on Unix, with Ctrl-C the only signal (a second press in the moment before the
/// task below first runs is missed; the next one is not).
#[cfg(not(unix))]
pub(crate) async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tokio::spawn(async {
        let _ = tokio::signal::ctrl_c().await;
        stop_at_once(130);
    });
}

fn stop_at_once(code: i32) {
    eprintln!("lanmeet: a second signal: stopping at once");
    std::process::exit(code);
}
