//! The printed report: a summary with one row per metric and lanmeet's ratio to each
//! reference server, then each server's details (storm, steady steps, memory).
//!
//! What is printed is described as data ([`SUMMARY`], [`STEP_COLUMNS`], the count
//! lists) and laid out by a few generic functions, so adding a figure is one line.

use std::fmt::Write as _;

use super::{Report, ServerResult, Steady, Step, Storm};

/// Width of the summary's label column.
const LABEL_WIDTH: usize = 30;
/// Width of each server's column in the summary.
const VALUE_WIDTH: usize = 12;
/// Width of each ratio column.
const RATIO_WIDTH: usize = 16;
/// The server every ratio is taken of.
const SUBJECT: &str = "lanmeet";
/// The servers lanmeet is compared with, one ratio column each (shown even when a run
/// left one out, so that tables of different runs line up).
const REFERENCES: [&str; 2] = ["relay", "peerjs"];
/// Memory points summarized (the details list every point).
const MEMORY_POINTS_SUMMARIZED: usize = 2;

/// Where a summary figure comes from in one server's results.
#[derive(Clone, Copy)]
enum Source {
    Storm(fn(&Storm) -> f64),
    Steady(fn(&Steady) -> Option<f64>),
    /// KiB per socket at the memory point with this index.
    MemoryPoint(usize),
}

impl Source {
    fn read(self, server: &ServerResult) -> Option<f64> {
        match self {
            Source::Storm(f) => server.storm.as_ref().map(f),
            Source::Steady(f) => server.steady.as_ref().and_then(f),
            Source::MemoryPoint(i) => server
                .memory
                .as_ref()
                .and_then(|m| m.points.get(i))
                .map(|p| p.kib_per_socket),
        }
    }
}

/// One row of the summary.
struct Metric {
    label: &'static str,
    decimals: usize,
    source: Source,
}

const fn storm(label: &'static str, decimals: usize, f: fn(&Storm) -> f64) -> Metric {
    Metric {
        label,
        decimals,
        source: Source::Storm(f),
    }
}

/// The summary's fixed rows; the memory rows follow, one per measured point.
const SUMMARY: [Metric; 10] = [
    storm("storm join p50 (ms)", 2, |s| s.join.p50_ms),
    storm("storm join p99 (ms)", 2, |s| s.join.p99_ms),
    storm("storm delivery p50 (ms)", 2, |s| s.delivery.p50_ms),
    storm("storm delivery p99 (ms)", 2, |s| s.delivery.p99_ms),
    storm("storm delivery max (ms)", 2, |s| s.delivery.max_ms),
    storm("storm signals total (ms)", 1, |s| s.signal_total_ms),
    storm("storm total incl. join (ms)", 1, |s| s.total_ms),
    storm("storm lost + misrouted", 0, |s| {
        (s.lost + s.misrouted) as f64
    }),
    storm("storm load-gen CPU (%)", 0, |s| s.signal_load_cpu_pct),
    Metric {
        label: "steady max rate held (/s)",
        decimals: 0,
        source: Source::Steady(|s| s.max_rate_held.map(f64::from)),
    },
];

/// One column of a steady run's step table.
struct Column {
    header: &'static str,
    width: usize,
    cell: fn(&Step) -> String,
}

/// The step table's columns; each line ends with `held` (yes/NO).
const STEP_COLUMNS: [Column; 12] = [
    Column {
        header: "target/s",
        width: 8,
        cell: |s| s.target_rate.to_string(),
    },
    Column {
        header: "achieved",
        width: 9,
        cell: |s| format!("{:.0}", s.achieved_rate),
    },
    Column {
        header: "/sock",
        width: 7,
        cell: |s| format!("{:.1}", s.per_socket_rate),
    },
    Column {
        header: "p50 ms",
        width: 8,
        cell: |s| format!("{:.2}", s.latency.p50_ms),
    },
    Column {
        header: "p99 ms",
        width: 8,
        cell: |s| format!("{:.2}", s.latency.p99_ms),
    },
    Column {
        header: "max ms",
        width: 8,
        cell: |s| format!("{:.1}", s.latency.max_ms),
    },
    Column {
        header: "lost",
        width: 7,
        cell: |s| s.lost.to_string(),
    },
    Column {
        header: "misr",
        width: 6,
        cell: |s| s.misrouted.to_string(),
    },
    Column {
        header: "order",
        width: 6,
        cell: |s| s.reordered.to_string(),
    },
    Column {
        header: "rl",
        width: 6,
        cell: |s| s.rate_limited.to_string(),
    },
    Column {
        header: "load%",
        width: 5,
        cell: |s| format!("{:.0}", s.load_cpu_pct),
    },
    Column {
        header: "srv%",
        width: 5,
        cell: |s| format!("{:.0}", s.server_cpu_pct),
    },
];

fn fmt_num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) => format!("{v:.decimals$}"),
        None => "-".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        (Some(a), Some(b)) if a == 0.0 && b == 0.0 => "=".into(),
        _ => "-".into(),
    }
}

/// `"{n} {what}"` for each count, joined with commas.
fn counts(items: &[(u64, &str)]) -> String {
    items
        .iter()
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    /// The human-readable report.
    pub(crate) fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nlanmeet node benchmark{} - servers on core {}, load generator on core(s) {}; loadavg before {} / after {}; priority boost: {}; relay runtime: {}",
            if self.quick { " (quick)" } else { "" },
            self.server_core,
            self.load_cores,
            self.loadavg_before,
            self.loadavg_after,
            self.boost,
            self.relay_runtime
        );
        self.write_summary(&mut s);
        for server in &self.servers {
            write_details(&mut s, server);
        }
        s
    }

    /// The summary rows: the fixed metrics, then KiB/socket at each memory point some
    /// server measured, labelled with that point's socket count.
    fn summary_rows(&self) -> Vec<(String, usize, Source)> {
        let fixed = SUMMARY
            .iter()
            .map(|m| (m.label.to_owned(), m.decimals, m.source));
        let memory = (0..MEMORY_POINTS_SUMMARIZED).filter_map(|i| {
            let sockets = self
                .servers
                .iter()
                .find_map(|t| t.memory.as_ref()?.points.get(i).map(|p| p.sockets))?;
            Some((
                format!("memory KiB/socket @{sockets}"),
                1,
                Source::MemoryPoint(i),
            ))
        });
        fixed.chain(memory).collect()
    }

    fn write_summary(&self, s: &mut String) {
        let position = |name: &str| self.servers.iter().position(|t| t.server == name);
        let subject = position(SUBJECT);
        let references: Vec<Option<usize>> = REFERENCES.iter().map(|r| position(r)).collect();

        let _ = write!(s, "\n{:<LABEL_WIDTH$}", "metric");
        for t in &self.servers {
            let _ = write!(s, "{:>VALUE_WIDTH$}", t.server);
        }
        for r in REFERENCES {
            let _ = write!(s, "{:>RATIO_WIDTH$}", format!("{SUBJECT}/{r}"));
        }
        let _ = writeln!(s);

        for (label, decimals, source) in self.summary_rows() {
            let values: Vec<Option<f64>> = self.servers.iter().map(|t| source.read(t)).collect();
            let at = |i: Option<usize>| i.and_then(|i| values.get(i).copied().flatten());
            let _ = write!(s, "{label:<LABEL_WIDTH$}");
            for v in &values {
                let _ = write!(s, "{:>VALUE_WIDTH$}", fmt_num(*v, decimals));
            }
            for &r in &references {
                let _ = write!(s, "{:>RATIO_WIDTH$}", ratio(at(subject), at(r)));
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "(ratios are lanmeet's figure divided by the other's: for rates higher is better, for times and memory lower is better)"
        );
    }
}

/// One server's details, each line tagged `[name]`.
fn write_details(s: &mut String, t: &ServerResult) {
    let name = &t.server;
    if let Some(st) = &t.storm {
        let _ = writeln!(s, "\n[{name}] storm: {}", storm_details(st));
    }
    if let Some(sd) = &t.steady {
        let _ = writeln!(
            s,
            "[{name}] steady over {} sockets (max held: {}{}):",
            sd.sockets,
            sd.max_rate_held.map_or("none".into(), |r| format!("{r}/s")),
            if sd.load_bound {
                "; in a failed step the load generator was at >= 95% of its core too"
            } else {
                ""
            }
        );
        let header = STEP_COLUMNS.map(|c| format!("{:>w$}", c.header, w = c.width));
        let _ = writeln!(s, "  {}  held", header.join(" "));
        for step in &sd.steps {
            let cells = STEP_COLUMNS.map(|c| format!("{:>w$}", (c.cell)(step), w = c.width));
            let held = if step.held { "yes" } else { "NO" };
            let _ = writeln!(s, "  {}  {held}", cells.join(" "));
        }
    }
    if let Some(m) = &t.memory {
        let points: Vec<String> = m
            .points
            .iter()
            .map(|p| {
                format!(
                    "{} sockets ({} joined): {} KiB, {:.1} KiB/socket",
                    p.sockets, p.joined, p.rss_kib, p.kib_per_socket
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "[{name}] memory: fresh {} KiB, with {} rooms {} KiB; {}",
            m.base_rss_kib,
            m.rooms,
            m.rooms_rss_kib,
            points.join("; ")
        );
    }
    if !t.server_frames.is_empty() {
        let _ = writeln!(
            s,
            "[{name}] server frames other than signals: {:?}",
            t.server_frames
        );
    }
    if !t.problems.is_empty() {
        let _ = writeln!(s, "[{name}] PROBLEMS: {:?}", t.problems);
    }
    for e in &t.errors {
        let _ = writeln!(s, "[{name}] ERROR: {e}");
    }
}

/// The storm's join phase, its signal counts, and its signal phase, in one line.
fn storm_details(st: &Storm) -> String {
    let signals = counts(&[
        (st.expected, "signals expected"),
        (st.sent, "sent"),
        (st.received, "received"),
        (st.lost, "lost"),
        (st.misrouted, "misrouted"),
        (st.reordered, "out of order"),
        (st.rate_limited, "rate-limited answers"),
    ]);
    format!(
        "{} rooms, {}/{} sockets joined ({} failed) in {:.0} ms (load CPU {:.0}%, server CPU {:.0}%, \
         listen backlog overflows {}); {signals}; signal phase load CPU {:.0}%, server CPU {:.0}%; sockets lost {}",
        st.rooms,
        st.joined,
        st.sockets,
        st.join_failed,
        st.join_wall_ms,
        st.join_load_cpu_pct,
        st.join_server_cpu_pct,
        st.listen_overflows,
        st.signal_load_cpu_pct,
        st.signal_server_cpu_pct,
        st.sockets_lost
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::tests::fixture;

    /// The table printed for the fixture, as the hand-written table printed it before
    /// the table became data (`table.golden`).
    #[test]
    fn the_printed_table_is_unchanged() {
        let table = fixture().table();
        if let Some(path) = std::env::var_os("BENCH_GOLDEN_WRITE") {
            std::fs::write(path, &table).unwrap();
        }
        assert_eq!(table, include_str!("table.golden"));
    }

    #[test]
    fn a_missing_reference_gets_dashes_and_the_ratio_columns_stay() {
        let mut report = fixture();
        report.servers.retain(|t| t.server != "relay");
        let table = report.table();
        let header = table.lines().find(|l| l.starts_with("metric")).unwrap();
        assert!(
            header.ends_with("   lanmeet/relay  lanmeet/peerjs"),
            "{header}"
        );
        let join = table
            .lines()
            .find(|l| l.starts_with("storm join p50"))
            .unwrap();
        // lanmeet 1.23, peerjs has no storm: both ratios are unknown.
        assert_eq!(
            join.split_whitespace().collect::<Vec<_>>()[4..],
            ["1.23", "-", "-", "-"]
        );
    }

    #[test]
    fn ratios() {
        assert_eq!(ratio(Some(3.0), Some(1.5)), "2.00x");
        assert_eq!(ratio(Some(0.0), Some(0.0)), "=");
        assert_eq!(ratio(None, Some(1.0)), "-");
    }
}
