//! `lanmeet`: a node without a window. `host` opens a room and prints its code;
//! `join` opens a room someone else hosts. Both serve the call UI on loopback and
//! open it in the default browser. `rooms` lists the rooms nearby.

mod browser;
mod host;
mod join;
mod node_args;
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
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logs(cli.verbose);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Some(Command::Host(args)) => host::run(args).await,
            Some(Command::Join(args)) => join::run(args).await,
            Some(Command::Rooms(args)) => rooms::run(args).await,
            None => host::run(cli.host).await,
        }
    })
}

fn init_logs(verbose: u8) {
    let default = match verbose {
        0 => "warn,lanmeet=info,lanmeet_core=warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Resolves when the user presses Ctrl-C or the process gets SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
