//! What the bench reads from the operating system: its own CPU time, a server's CPU
//! time and resident memory, the load average, and the open-file limit.
//!
//! Everything comes from `/proc` or from `getrusage`/`setrlimit` through `nix`, so the
//! bench needs no `unsafe` of its own.

use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

/// Clock ticks per second of `/proc/PID/stat` times. Linux has used 100 on every
/// architecture for a long time (USER_HZ); it is not worth a `sysconf` call.
const CLOCK_TICKS: u64 = 100;

/// The bench's own CPU time (user + system, every thread), to show whether the load
/// generator, rather than the server, was the ceiling.
pub(crate) fn self_cpu() -> Duration {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let user = usage.user_time();
            let system = usage.system_time();
            let micros =
                (user.tv_sec() + system.tv_sec()) * 1_000_000 + user.tv_usec() + system.tv_usec();
            Duration::from_micros(u64::try_from(micros).unwrap_or(0))
        }
        Err(_) => Duration::ZERO,
    }
}

/// CPU time (user + system) of another process, from `/proc/PID/stat`; 10 ms grain.
pub(crate) fn proc_cpu(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .context("malformed /proc stat")?;
    let mut fields = after.split_whitespace();
    // After ")" come field 3 (state) onwards: utime is field 14, stime field 15.
    let utime: u64 = fields.nth(11).context("no utime")?.parse()?;
    let stime: u64 = fields.next().context("no stime")?.parse()?;
    Ok(Duration::from_millis((utime + stime) * 1000 / CLOCK_TICKS))
}

/// Resident set size of a process in KiB (`VmRSS` of `/proc/PID/status`).
pub(crate) fn proc_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .context("malformed VmRSS")?
        .parse()?;
    Ok(kib)
}

/// The kernel's count of connections dropped because a listen backlog was full
/// (`TcpExt: ListenOverflows`, machine-wide). A join storm that overflows a server's
/// backlog shows up as 1 s (SYN retransmit) join times.
pub(crate) fn listen_overflows() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/net/netstat") else {
        return 0;
    };
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let found = names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "ListenOverflows");
        if let Some((_, v)) = found {
            return v.parse().unwrap_or(0);
        }
    }
    0
}

/// The 1-minute load average, printed with the results: the machine is shared, and a
/// busy neighbour moves every figure.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Raises the open-file limit (soft, and hard when allowed) to at least `want`: the
/// bench holds thousands of sockets, and children inherit the limit. Returns the soft
/// limit now in force.
pub(crate) fn raise_nofile(want: u64) -> Result<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft >= want {
        return Ok(soft);
    }
    if setrlimit(Resource::RLIMIT_NOFILE, want, hard.max(want)).is_ok() {
        return Ok(want);
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    Ok(hard)
}

/// Puts the bench (and the servers it will start, which inherit it) in a scheduling
/// group of its own with a high weight. The kernel groups processes by session
/// (autogroup) and shares CPU fairly between groups, so a plain `nice` does not help
/// against builds running in other sessions; a new session with a negative autogroup
/// nice does. Returns what was done, for the report.
pub(crate) fn boost() -> String {
    let session = match nix::unistd::setsid() {
        Ok(_) => "new session",
        Err(_) => "same session",
    };
    match std::fs::write("/proc/self/autogroup", "-20") {
        Ok(()) => format!("{session}, autogroup nice -20"),
        Err(e) => format!("{session}, autogroup unchanged ({e})"),
    }
}

/// CPU use as a percentage of one core over `wall`.
pub(crate) fn pct(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        return 0.0;
    }
    100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process_figures() {
        let pid = std::process::id();
        assert!(proc_rss_kib(pid).is_ok_and(|k| k > 0));
        assert!(proc_cpu(pid).is_ok());
    }
}
