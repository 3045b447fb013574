//! `lanmeet probe --bench`: how long a mesh of N probes takes to set up, over several
//! rounds, from the last probe's `welcome` until every pair's data channel is open.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::error::ProbeError;
use crate::mesh::{MAX_PROBES, ProbeOptions, ProbeReport, run};

/// What the table's figures measure, printed above it.
pub const MESH_SETUP_TITLE: &str =
    "mesh setup: from the last join until every pair's data channel is open";

/// The mesh-setup figures for one N.
#[derive(Debug, Clone, Serialize)]
pub struct MeshSetup {
    /// Probes in the mesh.
    pub n: usize,
    /// Pairs among them.
    pub pairs: usize,
    /// Rounds in which every pair connected (the samples).
    pub rounds: usize,
    /// Fastest round, ms.
    pub min_ms: Option<f64>,
    /// The middle sample (the upper one of an even count), ms.
    pub median_ms: Option<f64>,
    /// Slowest round, ms.
    pub max_ms: Option<f64>,
    /// Every round that connected, fastest first, ms.
    pub samples_ms: Vec<f64>,
    /// The reports of the rounds in which a pair did not connect.
    #[serde(skip)]
    pub failed: Vec<ProbeReport>,
}

impl MeshSetup {
    /// The table's column names, aligned with each row's `Display`.
    pub fn header() -> String {
        format!(
            "{:>3} {:>6} {:>8} {:>10} {:>10} {:>10}",
            "N", "pairs", "rounds", "min ms", "median ms", "max ms"
        )
    }
}

impl fmt::Display for MeshSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0}"));
        write!(
            f,
            "{:>3} {:>6} {:>8} {:>10} {:>10} {:>10}",
            self.n,
            self.pairs,
            self.rounds,
            ms(self.min_ms),
            ms(self.median_ms),
            ms(self.max_ms)
        )
    }
}

/// Runs `rounds` meshes of `n` probes with `options` (no measuring time after the
/// mesh is up) and summarizes how long each took to connect.
pub async fn time_mesh_setup(
    options: &ProbeOptions,
    n: usize,
    rounds: usize,
) -> Result<MeshSetup, ProbeError> {
    if n == 0 || n > MAX_PROBES {
        return Err(ProbeError::InvalidOptions(format!(
            "each --bench size must be 1 to {MAX_PROBES}, not {n}"
        )));
    }
    let mut options = options.clone();
    options.peers = n;
    options.duration = Duration::ZERO;
    let mut samples = Vec::with_capacity(rounds);
    let mut failed = Vec::new();
    for _ in 0..rounds {
        let report = run(options.clone()).await?;
        match report.mesh_ms {
            Some(ms) if report.ok => samples.push(ms),
            _ => failed.push(report),
        }
    }
    Ok(summarize(n, samples, failed))
}

fn summarize(n: usize, mut samples: Vec<f64>, failed: Vec<ProbeReport>) -> MeshSetup {
    samples.sort_by(f64::total_cmp);
    MeshSetup {
        n,
        pairs: n * n.saturating_sub(1) / 2,
        rounds: samples.len(),
        min_ms: samples.first().copied(),
        median_ms: samples.get(samples.len() / 2).copied(),
        max_ms: samples.last().copied(),
        samples_ms: samples,
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_lines_up_with_the_header() {
        let row = summarize(4, vec![97.2, 90.4, 93.6, 91.0], vec![]);
        assert_eq!(row.samples_ms, [90.4, 91.0, 93.6, 97.2]);
        assert_eq!(row.pairs, 6);
        assert_eq!(
            row.median_ms,
            Some(93.6),
            "the upper middle of an even count"
        );
        assert_eq!(
            MeshSetup::header(),
            "  N  pairs   rounds     min ms  median ms     max ms"
        );
        assert_eq!(
            row.to_string(),
            "  4      6        4         90         94         97"
        );
    }

    #[test]
    fn no_successful_round_prints_dashes() {
        let row = summarize(2, vec![], vec![]);
        assert_eq!(row.rounds, 0);
        assert_eq!(
            row.to_string(),
            "  2      1        0          -          -          -"
        );
    }
}
