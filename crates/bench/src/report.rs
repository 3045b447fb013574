//! Results: what each scenario measured (saved as the JSON file) and lanmeet's
//! correctness checks. The printed table is in `table`.

mod table;

use std::collections::BTreeMap;

use serde::Serialize;

/// Latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Lat {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) count: usize,
}

impl Lat {
    /// Summarizes µs samples (sorts them in place).
    pub(crate) fn of(samples: &mut [u32]) -> Lat {
        if samples.is_empty() {
            return Lat::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = (q * samples.len() as f64).ceil() as usize;
            f64::from(samples[rank.clamp(1, samples.len()) - 1]) / 1000.0
        };
        Lat {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            count: samples.len(),
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Storm {
    pub(crate) rooms: usize,
    pub(crate) sockets: usize,
    pub(crate) joined: usize,
    pub(crate) join_failed: usize,
    /// TCP connect → `welcome` (lanmeet) / `OPEN` (PeerJS) / `open` (relay).
    pub(crate) join: Lat,
    pub(crate) join_wall_ms: f64,
    /// Connections the kernel dropped for a full listen backlog during the joins.
    pub(crate) listen_overflows: u64,
    pub(crate) join_load_cpu_pct: f64,
    pub(crate) join_server_cpu_pct: f64,
    pub(crate) expected: u64,
    pub(crate) sent: u64,
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) misrouted: u64,
    pub(crate) reordered: u64,
    pub(crate) rate_limited: u64,
    pub(crate) delivery: Lat,
    /// From the first send to the last delivery.
    pub(crate) signal_total_ms: f64,
    /// Join phase plus signal phase.
    pub(crate) total_ms: f64,
    pub(crate) signal_load_cpu_pct: f64,
    pub(crate) signal_server_cpu_pct: f64,
    pub(crate) sockets_lost: usize,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Step {
    pub(crate) target_rate: u32,
    pub(crate) achieved_rate: f64,
    pub(crate) per_socket_rate: f64,
    pub(crate) seconds: f64,
    pub(crate) sent: u64,
    pub(crate) received: u64,
    pub(crate) lost: u64,
    pub(crate) misrouted: u64,
    pub(crate) reordered: u64,
    pub(crate) rate_limited: u64,
    pub(crate) latency: Lat,
    pub(crate) load_cpu_pct: f64,
    pub(crate) server_cpu_pct: f64,
    pub(crate) sockets_lost: usize,
    /// Achieved ≥ 95 % of the target, p99 < 50 ms, nothing lost or misrouted.
    pub(crate) held: bool,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Steady {
    pub(crate) sockets: usize,
    pub(crate) steps: Vec<Step>,
    pub(crate) max_rate_held: Option<u32>,
    /// The load generator used ≥ 95 % of its core in a step that failed (so that step
    /// may say as much about the load generator as about the server).
    pub(crate) load_bound: bool,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct MemPoint {
    pub(crate) sockets: usize,
    pub(crate) joined: usize,
    pub(crate) rss_kib: u64,
    pub(crate) kib_per_socket: f64,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Memory {
    /// RSS of the fresh server.
    pub(crate) base_rss_kib: u64,
    /// RSS once its rooms exist (lanmeet); the per-socket figure is measured from here.
    pub(crate) rooms_rss_kib: u64,
    pub(crate) rooms: usize,
    pub(crate) points: Vec<MemPoint>,
}

/// Everything measured on one server under test.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ServerResult {
    /// `lanmeet`, `relay` or `peerjs` (the `--targets` names).
    #[serde(rename = "target")]
    pub(crate) server: String,
    pub(crate) storm: Option<Storm>,
    pub(crate) steady: Option<Steady>,
    pub(crate) memory: Option<Memory>,
    /// Non-signal frames the server sent, by type (errors as `error:<code>`).
    pub(crate) server_frames: BTreeMap<String, u64>,
    /// Join failures and sockets that ended unasked, by reason.
    pub(crate) problems: BTreeMap<String, u64>,
    pub(crate) errors: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) quick: bool,
    pub(crate) server_core: usize,
    pub(crate) load_cores: String,
    /// Whether the run had its CPU share raised (`--boost`), and how.
    pub(crate) boost: String,
    /// The bare relay's tokio scheduler.
    pub(crate) relay_runtime: String,
    pub(crate) loadavg_before: String,
    pub(crate) loadavg_after: String,
    /// In the order of `--targets`.
    #[serde(rename = "targets")]
    pub(crate) servers: Vec<ServerResult>,
}

impl Report {
    /// Correctness failures of lanmeet in this run (never timing): sockets that could
    /// not join, signals lost, misrouted or out of order in the storm, errors, sockets
    /// the node dropped. Empty when lanmeet did everything right.
    pub(crate) fn lanmeet_failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in self.servers.iter().filter(|t| t.server == "lanmeet") {
            out.extend(t.errors.iter().cloned());
            if let Some(st) = &t.storm {
                if st.join_failed > 0 {
                    out.push(format!("storm: {} sockets failed to join", st.join_failed));
                }
                if st.lost + st.misrouted + st.reordered > 0 {
                    out.push(format!(
                        "storm: {} lost, {} misrouted, {} out of order",
                        st.lost, st.misrouted, st.reordered
                    ));
                }
                if st.sockets_lost > 0 {
                    out.push(format!("storm: {} sockets dropped", st.sockets_lost));
                }
            }
            if let Some(sd) = &t.steady {
                let bad: u64 = sd.steps.iter().map(|s| s.misrouted + s.reordered).sum();
                if bad > 0 {
                    out.push(format!("steady: {bad} signals misrouted or out of order"));
                }
            }
            if let Some(m) = &t.memory {
                for p in m.points.iter().filter(|p| p.joined < p.sockets) {
                    out.push(format!(
                        "memory: {} of {} sockets joined",
                        p.joined, p.sockets
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        let lat = Lat::of(&mut v);
        assert_eq!(lat.p50_ms, 50.0);
        assert_eq!(lat.p99_ms, 99.0);
        assert_eq!(lat.max_ms, 100.0);
        assert_eq!(Lat::of(&mut []).count, 0);
    }

    #[test]
    fn lanmeet_failures_are_its_correctness_checks_only() {
        let failures = fixture().lanmeet_failures();
        assert_eq!(
            failures,
            [
                "memory: the node exited",
                "storm: 1 sockets failed to join",
                "storm: 2 lost, 0 misrouted, 1 out of order",
                "memory: 3999 of 4000 sockets joined",
            ],
            "the relay's identical figures are not lanmeet's failures"
        );
    }

    /// A report that exercises every part of the table: three servers, one without a
    /// storm, a failed steady step with the load generator at its limit, two memory
    /// points, server frames, problems and errors.
    pub(crate) fn fixture() -> Report {
        let lat = |p50_ms, p99_ms, max_ms| Lat {
            p50_ms,
            p99_ms,
            max_ms,
            count: 100,
        };
        let storm = |k: f64| Storm {
            rooms: 250,
            sockets: 1000,
            joined: 999,
            join_failed: 1,
            join: lat(1.234 * k, 5.678 * k, 9.9 * k),
            join_wall_ms: 812.4 * k,
            listen_overflows: 3,
            join_load_cpu_pct: 87.6,
            join_server_cpu_pct: 55.5,
            expected: 27_000,
            sent: 27_000,
            received: 26_998,
            lost: 2,
            misrouted: 0,
            reordered: 1,
            rate_limited: 4,
            delivery: lat(0.25 * k, 2.5 * k, 12.75 * k),
            signal_total_ms: 345.67 * k,
            total_ms: 1158.07 * k,
            signal_load_cpu_pct: 99.4,
            signal_server_cpu_pct: 61.2,
            sockets_lost: 0,
        };
        let step = |target_rate: u32, held: bool| Step {
            target_rate,
            achieved_rate: f64::from(target_rate) * 0.987,
            per_socket_rate: f64::from(target_rate) / 1000.0,
            seconds: 3.0,
            sent: 30_000,
            received: 29_990,
            lost: if held { 0 } else { 10 },
            misrouted: 0,
            reordered: 0,
            rate_limited: 0,
            latency: lat(0.31, 4.56, 17.89),
            load_cpu_pct: 42.4,
            server_cpu_pct: 97.5,
            sockets_lost: 0,
            held,
        };
        let memory = |base_rss_kib, rooms_rss_kib| Memory {
            base_rss_kib,
            rooms_rss_kib,
            rooms: 250,
            points: vec![
                MemPoint {
                    sockets: 1000,
                    joined: 1000,
                    rss_kib: rooms_rss_kib + 9_500,
                    kib_per_socket: 9.5,
                },
                MemPoint {
                    sockets: 4000,
                    joined: 3999,
                    rss_kib: rooms_rss_kib + 36_000,
                    kib_per_socket: 9.0,
                },
            ],
        };
        Report {
            quick: true,
            server_core: 0,
            load_cores: "1".into(),
            boost: "no".into(),
            relay_runtime: "current-thread".into(),
            loadavg_before: "1.00 0.50 0.25".into(),
            loadavg_after: "2.00 1.00 0.50".into(),
            servers: vec![
                ServerResult {
                    server: "lanmeet".into(),
                    storm: Some(storm(1.0)),
                    steady: Some(Steady {
                        sockets: 1000,
                        steps: vec![step(10_000, true), step(20_000, false)],
                        max_rate_held: Some(10_000),
                        load_bound: true,
                    }),
                    memory: Some(memory(4_000, 5_000)),
                    server_frames: [("error:rate-limited".to_owned(), 4)].into(),
                    problems: [("closed".to_owned(), 1)].into(),
                    errors: vec!["memory: the node exited".into()],
                },
                ServerResult {
                    server: "relay".into(),
                    storm: Some(storm(0.5)),
                    steady: Some(Steady {
                        sockets: 1000,
                        steps: vec![step(10_000, false)],
                        max_rate_held: None,
                        load_bound: false,
                    }),
                    memory: Some(memory(2_000, 2_000)),
                    ..ServerResult::default()
                },
                ServerResult {
                    server: "peerjs".into(),
                    memory: Some(memory(30_000, 30_000)),
                    ..ServerResult::default()
                },
            ],
        }
    }
}
