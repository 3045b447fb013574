//! `lanmeet rooms`: list the rooms nearby (mDNS), without hosting anything.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use lanmeet_core::{Discovery, LanRoom};

#[derive(Args, Debug, Clone)]
pub(crate) struct RoomsArgs {
    /// How long to listen before printing, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    wait_ms: u64,
    /// Keep listening and print the list again whenever it changes (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
    /// Print JSON: one array of rooms (with --watch, one array per line).
    #[arg(long)]
    json: bool,
    /// Limit discovery to these interfaces (comma-separated names).
    #[arg(long, env = "LANMEET_INTERFACES", value_delimiter = ',')]
    interfaces: Vec<String>,
}

pub(crate) async fn run(args: RoomsArgs) -> Result<()> {
    let discovery =
        Discovery::start(&args.interfaces, None).context("could not start LAN discovery (mDNS)")?;
    let mut changes = discovery.subscribe();
    tokio::select! {
        () = tokio::time::sleep(Duration::from_millis(args.wait_ms)) => {}
        () = crate::shutdown_signal() => {
            discovery.stop().await;
            return Ok(());
        }
    }
    changes.mark_unchanged();
    print_rooms(&discovery.rooms(), args.json, args.wait_ms);
    if args.watch {
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                () = crate::shutdown_signal() => break,
            }
            // Let a burst of updates settle into one print.
            tokio::time::sleep(Duration::from_millis(100)).await;
            changes.mark_unchanged();
            if !args.json {
                println!();
            }
            print_rooms(&discovery.rooms(), args.json, args.wait_ms);
        }
    }
    discovery.stop().await;
    Ok(())
}

fn print_rooms(rooms: &[LanRoom], json: bool, waited_ms: u64) {
    if json {
        println!(
            "{}",
            serde_json::to_string(rooms).unwrap_or_else(|_| "[]".into())
        );
        return;
    }
    if rooms.is_empty() {
        println!("{}", nothing_found(waited_ms));
        return;
    }
    let rows: Vec<[String; 4]> = rooms
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.code.grouped(),
                r.host.clone(),
                format!("{}/{}", r.peers, r.capacity),
            ]
        })
        .collect();
    let header = ["ROOM", "CODE", "HOST", "PEOPLE"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out
    };
    println!("{}", line(header));
    for row in &rows {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3]]));
    }
    println!();
    println!("Join one with `lanmeet join CODE`.");
}

/// What to try when the list is empty.
fn nothing_found(waited_ms: u64) -> String {
    format!(
        "No rooms found nearby (listened for {:.1} s). Things to check:\n{}\n\
         \x20 - Unlisted rooms never show here: `lanmeet join CODE` still finds them.",
        waited_ms as f64 / 1000.0,
        hints()
    )
}

/// Why a host may be invisible, and the way around it (the invite).
pub(crate) fn hints() -> &'static str {
    "  - Are you on the same network as the host? Guest Wi-Fi and \"client isolation\"\n\
     \x20   keep devices apart, and VPNs or other subnets do not carry discovery.\n\
     \x20 - A firewall on the host must allow TCP port 7878 (lanmeet) and UDP port 5353 (mDNS).\n\
     \x20 - Or ask the host for the invite (lanmeet://HOST:PORT/CODE) and run `lanmeet join INVITE`."
}
