//! The soak's pass/fail gates, each judged on the samples after the warm-up.

use serde::Serialize;

use super::sample::Sample;

/// Fewer samples than this after the warm-up make a trend meaningless, and fail the gate.
const MIN_TREND_SAMPLES: usize = 5;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Verdict {
    Passed,
    Failed,
    /// The readings it needs are not available from this target.
    Skipped,
}

#[derive(Clone, Debug, Serialize)]
pub struct GateResult {
    pub gate: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

impl GateResult {
    fn new(gate: &'static str, passed: bool, detail: String) -> GateResult {
        let verdict = if passed {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        GateResult {
            gate,
            verdict,
            detail,
        }
    }

    fn skipped(gate: &'static str, detail: &str) -> GateResult {
        GateResult {
            gate,
            verdict: Verdict::Skipped,
            detail: detail.to_owned(),
        }
    }
}

/// Least-squares fit of y = intercept + slope * x; `None` for fewer than two distinct x.
pub fn fit_slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let covariance: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    (variance > 0.0).then(|| covariance / variance)
}

/// Points (elapsed seconds, value) of the samples after `warmup_s` that have the value.
fn trend_points(
    samples: &[Sample],
    warmup_s: f64,
    value: impl Fn(&Sample) -> Option<f64>,
) -> Vec<(f64, f64)> {
    samples
        .iter()
        .filter(|sample| sample.elapsed_s >= warmup_s)
        .filter_map(|sample| value(sample).map(|v| (sample.elapsed_s, v)))
        .collect()
}

/// Fails when ingest's RSS grows faster than `max_mb_per_hour` after the warm-up.
pub fn rss_slope(
    samples: &[Sample],
    warmup_s: f64,
    max_mb_per_hour: f64,
) -> (GateResult, Option<f64>) {
    const GATE: &str = "RSS slope of ingest";
    let points = trend_points(samples, warmup_s, |sample| {
        sample.rss_of("ingest").map(|bytes| bytes as f64 / 1e6)
    });
    if points.len() < MIN_TREND_SAMPLES {
        let detail = format!(
            "{} RSS samples after the warm-up; at least {MIN_TREND_SAMPLES} are needed",
            points.len()
        );
        return (GateResult::new(GATE, false, detail), None);
    }
    let Some(slope_per_s) = fit_slope(&points) else {
        return (
            GateResult::new(GATE, false, "the samples span no time".to_owned()),
            None,
        );
    };
    let per_hour = slope_per_s * 3600.0;
    let detail = format!(
        "{per_hour:.2} MB/hour over {} samples (bound {max_mb_per_hour} MB/hour)",
        points.len()
    );
    (
        GateResult::new(GATE, per_hour <= max_mb_per_hour, detail),
        Some(per_hour),
    )
}

/// Fails when the buffer depth's fitted rise over the measured part exceeds `max_rise` of the
/// buffer capacity: the writers are falling behind.
pub fn buffer_trend(samples: &[Sample], warmup_s: f64, max_rise: f64) -> GateResult {
    const GATE: &str = "buffer depth trend";
    let points = trend_points(samples, warmup_s, |sample| sample.buffer_depth);
    let capacity = samples
        .iter()
        .rev()
        .find_map(|sample| sample.buffer_capacity);
    let (Some(capacity), true) = (capacity, points.len() >= MIN_TREND_SAMPLES) else {
        return GateResult::skipped(GATE, "ingest's /metrics has no buffer depth and capacity");
    };
    let span = points.last().map_or(0.0, |p| p.0) - points.first().map_or(0.0, |p| p.0);
    let rise = fit_slope(&points).unwrap_or(0.0) * span;
    let bound = max_rise * capacity;
    let detail = format!(
        "fitted rise {rise:.0} reactions over {span:.0} s (bound {bound:.0}, {max_rise} of capacity {capacity:.0})"
    );
    GateResult::new(GATE, rise <= bound, detail)
}

/// Fails when the services hold more ESTABLISHED sockets to InfluxDB than their pools allow.
pub fn store_sockets(samples: &[Sample], pool_size: u64) -> GateResult {
    const GATE: &str = "sockets to InfluxDB";
    let Some(max) = samples
        .iter()
        .filter_map(|sample| sample.store_established)
        .max()
    else {
        return GateResult::skipped(GATE, "no InfluxDB URL, so sockets to it are not counted");
    };
    let detail = format!("at most {max} ESTABLISHED (bound {pool_size})");
    GateResult::new(GATE, max <= pool_size, detail)
}

/// Fails when TIME_WAIT sockets to InfluxDB keep rising after the warm-up: connections are
/// opened and closed instead of reused. A steady count is fine, however high, because the
/// kernel frees each after 60 s.
pub fn time_wait_trend(samples: &[Sample], warmup_s: f64, max_rise: f64) -> GateResult {
    const GATE: &str = "TIME_WAIT to InfluxDB";
    let points = trend_points(samples, warmup_s, |sample| {
        sample.store_time_wait.map(|n| n as f64)
    });
    if points.len() < MIN_TREND_SAMPLES {
        return GateResult::skipped(GATE, "no InfluxDB URL, or too few samples");
    }
    let span = points.last().map_or(0.0, |p| p.0) - points.first().map_or(0.0, |p| p.0);
    let rise = fit_slope(&points).unwrap_or(0.0) * span;
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let detail =
        format!("fitted rise {rise:.1} over {span:.0} s, at most {max:.0} (bound {max_rise})");
    GateResult::new(GATE, rise <= max_rise, detail)
}

/// Counts of accepted and stored reactions over the run.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Delivery {
    /// Reactions in requests that got a 202, counted by the load generator.
    pub client_accepted: u64,
    /// Rise of `ingest_reactions_accepted_total` over the run.
    pub metrics_accepted: Option<u64>,
    /// Rise of the count of stored reactions over the run.
    pub stored: Option<u64>,
}

/// Fails unless the count of accepted reactions equals the count of stored ones, so that none
/// was lost or stored twice.
pub fn exactly_once(delivery: Delivery) -> GateResult {
    const GATE: &str = "accepted == stored";
    let Some(stored) = delivery.stored else {
        return GateResult::skipped(GATE, "no InfluxDB URL, so stored reactions are not counted");
    };
    // ingest's own count covers every client; the generator's count is the fallback when
    // ingest has no /metrics.
    let accepted = delivery
        .metrics_accepted
        .unwrap_or(delivery.client_accepted);
    let detail = format!(
        "accepted {accepted} (load generator: {}), stored {stored}",
        delivery.client_accepted
    );
    GateResult::new(GATE, accepted == stored, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::sample::ProcessSample;

    fn samples(values: impl Fn(f64) -> f64) -> Vec<Sample> {
        (0..60)
            .map(|i| {
                let t = i as f64 * 10.0;
                Sample {
                    elapsed_s: t,
                    processes: vec![ProcessSample {
                        name: "ingest".to_owned(),
                        rss_bytes: Some(values(t) as u64),
                        open_fds: Some(10),
                    }],
                    buffer_depth: Some(values(t) / 1000.0),
                    buffer_capacity: Some(100_000.0),
                    store_established: Some(3),
                    store_time_wait: Some((values(t) / 1e6) as u64),
                    ..Sample::default()
                }
            })
            .collect()
    }

    #[test]
    fn slope_of_a_line() {
        let points: Vec<(f64, f64)> = (0..10).map(|x| (x as f64, 3.0 + 2.0 * x as f64)).collect();
        assert!((fit_slope(&points).unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(fit_slope(&[(1.0, 1.0)]), None);
        assert_eq!(fit_slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn flat_rss_passes() {
        let (gate, slope) = rss_slope(&samples(|_| 50e6), 60.0, 1.0);
        assert_eq!(gate.verdict, Verdict::Passed, "{}", gate.detail);
        assert_eq!(slope, Some(0.0));
    }

    #[test]
    fn growing_rss_fails() {
        // 1000 bytes per second is 3.6 MB per hour.
        let (gate, slope) = rss_slope(&samples(|t| 50e6 + 1000.0 * t), 60.0, 1.0);
        assert_eq!(gate.verdict, Verdict::Failed, "{}", gate.detail);
        assert!((slope.unwrap() - 3.6).abs() < 1e-6);
    }

    #[test]
    fn warmup_growth_is_ignored() {
        let (gate, _) = rss_slope(
            &samples(|t| if t < 100.0 { t * 1e6 } else { 100e6 }),
            100.0,
            1.0,
        );
        assert_eq!(gate.verdict, Verdict::Passed, "{}", gate.detail);
    }

    #[test]
    fn too_few_samples_fail_the_rss_gate() {
        let (gate, _) = rss_slope(&samples(|_| 50e6)[..3], 0.0, 1.0);
        assert_eq!(gate.verdict, Verdict::Failed);
    }

    #[test]
    fn rising_buffer_fails() {
        // Depth grows by 10 per second from 0: 5,900 over the run, over 5% of 100,000.
        let gate = buffer_trend(&samples(|t| t * 10_000.0), 0.0, 0.05);
        assert_eq!(gate.verdict, Verdict::Failed, "{}", gate.detail);
        let gate = buffer_trend(&samples(|_| 3e6), 0.0, 0.05);
        assert_eq!(gate.verdict, Verdict::Passed, "{}", gate.detail);
    }

    #[test]
    fn sockets_over_the_pool_fail() {
        assert_eq!(store_sockets(&samples(|_| 0.0), 3).verdict, Verdict::Passed);
        assert_eq!(store_sockets(&samples(|_| 0.0), 2).verdict, Verdict::Failed);
        assert_eq!(store_sockets(&[], 2).verdict, Verdict::Skipped);
    }

    #[test]
    fn rising_time_wait_fails() {
        let gate = time_wait_trend(&samples(|t| t * 1e6), 0.0, 50.0);
        assert_eq!(gate.verdict, Verdict::Failed, "{}", gate.detail);
        let gate = time_wait_trend(&samples(|_| 400e6), 0.0, 50.0);
        assert_eq!(gate.verdict, Verdict::Passed, "{}", gate.detail);
    }

    #[test]
    fn lost_or_duplicated_reactions_fail() {
        let delivery = |metrics, stored| Delivery {
            client_accepted: 100,
            metrics_accepted: metrics,
            stored,
        };
        assert_eq!(
            exactly_once(delivery(Some(100), Some(100))).verdict,
            Verdict::Passed
        );
        assert_eq!(
            exactly_once(delivery(Some(100), Some(99))).verdict,
            Verdict::Failed
        );
        assert_eq!(
            exactly_once(delivery(None, Some(101))).verdict,
            Verdict::Failed
        );
        assert_eq!(exactly_once(delivery(None, None)).verdict, Verdict::Skipped);
    }
}
