//! What the workspace's tests share, so each rule lives in one place:
//!
//! - [`node`]: a real node in-process on loopback, discovery off, stopped when
//!   dropped (a failed assertion never leaves one running).
//! - [`netns`]: small LANs made of network namespaces, for everything that
//!   needs multicast (mDNS) or more than one host: `lanmeet` processes in
//!   them, mDNS packets sent and watched. Every namespace is deleted on drop,
//!   names are unique per process and call, IPv6 is off, links have carrier
//!   before anything starts. The shell scripts use the same rules from
//!   `scripts/lib/netns.sh`.
//!
//! Test code: panicking on a broken setup is the point, so this crate unwraps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod netns;
pub mod node;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bound on every wait here. Not a performance threshold: a healthy run takes a
/// small fraction of it; it only keeps a broken run from hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `probe` every 20 ms until it returns `Some`; panics after `limit`
/// with `what`. For state that only a poll can see (another process's answers).
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first line `child` writes to stdout (a `lanmeet host --json` line), read on a
/// thread that then keeps draining the pipe: a closed pipe would fail the child's
/// later writes to stdout. Takes the child's stdout, which must be piped.
pub fn first_stdout_line(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx
}
