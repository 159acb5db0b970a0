//! Finds one confined service's maximum sustainable rate: the stepped plan, then a few
//! bisection steps between the last sustained step and the first that was not, with readings
//! of the service's cgroup and `/metrics` around each step.

use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use crate::confine::Confinement;
use crate::metrics::{self, Scrape};
use crate::plan::{self, Bounds, StepConfig, StepResult};
use crate::procfs;
use crate::scenarios::{Scenario, Workload};

/// The service a search measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Ingest,
    Query,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Query => "query",
        }
    }
}

/// One step with the readings of the service's cgroup and metrics.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    #[serde(flatten)]
    pub result: StepResult,
    /// CPU the confined service used, in cores.
    pub service_cores: Option<f64>,
    /// Fraction of the CPU quota periods in which the service was throttled.
    pub throttled_fraction: Option<f64>,
    /// Mean duration of a store write (ingest) or store query (query) during the step.
    pub store_ms: Option<f64>,
    /// Fill of ingest's buffer at the end of the step, by reactions or bytes, the fuller.
    pub buffer_fill: Option<f64>,
    /// Fraction of the requests served from the summary cache.
    pub cache_hit_ratio: Option<f64>,
    /// Highest resident set size of the service since it started (VmHWM).
    pub peak_rss_mb: Option<f64>,
    /// Highest memory use of its cgroup since it started, what the memory limit counts: the
    /// service's own pages, without the binary's pages that other processes loaded first.
    pub peak_cgroup_mb: Option<f64>,
}

impl Step {
    pub fn sustained(&self) -> bool {
        self.result.sustained()
    }
}

/// The steps of one service in order of rate, and what they found.
#[derive(Clone, Debug, Serialize)]
pub struct Search {
    pub steps: Vec<Step>,
    /// Achieved rate of the highest sustained step below the lowest step that was not.
    pub max_rps: Option<u32>,
    /// Target rate of that step, the one a hold run repeats.
    pub max_target_rps: Option<u32>,
    /// Target rate of the lowest step that was not sustained.
    pub first_failed_target_rps: Option<u32>,
}

impl Search {
    pub fn step_at(&self, target_rps: Option<u32>) -> Option<&Step> {
        let target = target_rps?;
        self.steps
            .iter()
            .find(|step| step.result.target_rps == target)
    }
}

/// Everything a search needs besides the rates.
pub struct Searcher<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub role: Role,
    pub scenario: Scenario,
    pub workload: Arc<Workload>,
    pub config: StepConfig,
    pub bounds: Bounds,
    /// The service and InfluxDB, by role, for CPU readings.
    pub processes: Vec<(String, u32)>,
    pub confinement: &'a Confinement,
    pub service_url: String,
    pub client: reqwest::blocking::Client,
}

/// Readings of the service before or after a step.
struct Reading {
    scrape: Option<Scrape>,
    throttling: Option<reactions_tests::cgroup::Throttling>,
}

impl Searcher<'_> {
    /// Runs `rates` in order until a step is not sustained, then `refine` bisection steps.
    pub fn search(&self, rates: &[u32], refine: u32) -> Result<Search> {
        let mut steps = Vec::new();
        let mut sustained = None;
        let mut failed = None;
        for &rate in rates {
            let step = self.measure(rate)?;
            let ok = step.sustained();
            steps.push(step);
            if !ok {
                failed = Some(rate);
                break;
            }
            sustained = Some(rate);
        }

        for _ in 0..refine {
            let (Some(low), Some(high)) = (sustained, failed) else {
                break;
            };
            let middle = low + (high - low) / 2;
            // Closer than 5% is within the noise of one step.
            if middle - low < (low / 20).max(1) {
                break;
            }
            let step = self.measure(middle)?;
            if step.sustained() {
                sustained = Some(middle);
            } else {
                failed = Some(middle);
            }
            steps.push(step);
        }

        steps.sort_by_key(|step| step.result.target_rps);
        let max_rps = sustained
            .and_then(|target| steps.iter().find(|s| s.result.target_rps == target))
            .map(|step| step.result.achieved_rps.round() as u32);
        Ok(Search {
            steps,
            max_rps,
            max_target_rps: sustained,
            first_failed_target_rps: failed,
        })
    }

    /// Runs one step at `rate` with the readings around it.
    pub fn measure(&self, rate: u32) -> Result<Step> {
        self.measure_with(rate, self.config)
    }

    /// Runs one step at `rate`, timed by `config`, with the readings around it.
    pub fn measure_with(&self, rate: u32, config: StepConfig) -> Result<Step> {
        let before = self.read();
        let result = plan::run_step(
            self.runtime,
            self.scenario,
            &self.workload,
            rate,
            config,
            self.bounds,
            &self.processes,
        )?;
        let after = self.read();
        let step = self.step(result, &before, &after);
        tracing::info!(
            service = self.role.name(),
            target_rps = rate,
            achieved_rps = format!("{:.0}", step.result.achieved_rps),
            p99_ms = ?step.result.p99_ms,
            cores = ?step.service_cores,
            failed_because = ?step.result.failed_because,
            "step done"
        );
        Ok(step)
    }

    fn read(&self) -> Reading {
        Reading {
            scrape: metrics::scrape(&self.client, &self.service_url).ok(),
            throttling: self.confinement.throttling(),
        }
    }

    fn step(&self, result: StepResult, before: &Reading, after: &Reading) -> Step {
        let service = result
            .processes
            .iter()
            .find(|process| process.process == self.role.name());
        let service_cores = service.map(|process| process.cores);
        let peak_rss_mb = self
            .processes
            .iter()
            .find(|(name, _)| name == self.role.name())
            .and_then(|(_, pid)| procfs::peak_rss_bytes(*pid).ok())
            .map(|bytes| bytes as f64 / 1e6);
        let peak_cgroup_mb = self
            .confinement
            .peak_bytes()
            .map(|bytes| bytes as f64 / 1e6);

        let throttled_fraction = match (before.throttling, after.throttling) {
            (Some(before), Some(after)) if after.periods > before.periods => Some(
                (after.throttled - before.throttled) as f64
                    / (after.periods - before.periods) as f64,
            ),
            _ => None,
        };
        let (store_ms, buffer_fill, cache_hits) = match (&before.scrape, &after.scrape) {
            (Some(before), Some(after)) => self.metric_readings(before, after),
            _ => (None, None, None),
        };
        let requests = result.counts.total();
        let cache_hit_ratio = cache_hits
            .filter(|_| requests > 0)
            .map(|hits| (hits / requests as f64).min(1.0));

        Step {
            result,
            service_cores,
            throttled_fraction,
            store_ms,
            buffer_fill,
            cache_hit_ratio,
            peak_rss_mb,
            peak_cgroup_mb,
        }
    }

    /// Returns the mean store time, the buffer fill and the cache hits between two scrapes.
    fn metric_readings(
        &self,
        before: &Scrape,
        after: &Scrape,
    ) -> (Option<f64>, Option<f64>, Option<f64>) {
        // A series appears at its first observation, so one missing before the step was 0.
        let delta = |name: &str| Some(after.get(name)? - before.get(name).unwrap_or(0.0));
        let histogram = match self.role {
            Role::Ingest => metrics::STORE_WRITE_DURATION,
            Role::Query => metrics::STORE_QUERY_DURATION,
        };
        let store_ms = match (
            delta(&format!("{histogram}_sum")),
            delta(&format!("{histogram}_count")),
        ) {
            (Some(seconds), Some(count)) if count > 0.0 => Some(seconds / count * 1000.0),
            _ => None,
        };
        let fill = |used: &str, capacity: &str| {
            let capacity = after.get(capacity).filter(|capacity| *capacity > 0.0)?;
            Some(after.get(used)? / capacity)
        };
        let buffer_fill = match self.role {
            Role::Ingest => [
                fill(metrics::BUFFER_DEPTH, metrics::BUFFER_CAPACITY),
                fill(metrics::BUFFER_BYTES, metrics::BUFFER_CAPACITY_BYTES),
            ]
            .into_iter()
            .flatten()
            .reduce(f64::max),
            Role::Query => None,
        };
        let cache_hits = match self.role {
            Role::Ingest => None,
            Role::Query => delta(metrics::CACHE_HITS),
        };
        (store_ms, buffer_fill, cache_hits)
    }
}

/// Steps for the unit tests of the report's logic.
#[cfg(test)]
pub mod fixtures {
    use super::Step;
    use crate::plan::StepResult;
    use crate::recorder::OutcomeCounts;

    /// Returns a step at `target_rps`, which misses the SLO from 1,000 requests/s up.
    pub fn step(target_rps: u32, cores: f64, backpressure: u64, store_ms: f64) -> Step {
        let failed = target_rps >= 1000;
        Step {
            result: StepResult {
                target_rps,
                achieved_rps: target_rps as f64,
                reactions_per_s: target_rps as f64,
                counts: OutcomeCounts {
                    success: 10_000,
                    backpressure,
                    ..OutcomeCounts::default()
                },
                p50_ms: Some(1.0),
                p99_ms: Some(if failed { 500.0 } else { 5.0 }),
                users: 50,
                busy_users: 1.0,
                processes: Vec::new(),
                generator_cores: 0.3,
                machine_busy: 0.5,
                generator_saturated: false,
                failed_because: failed.then(|| "p99 500.0 ms is over 200 ms".to_owned()),
            },
            service_cores: Some(cores),
            throttled_fraction: Some(0.0),
            store_ms: Some(store_ms),
            buffer_fill: Some(0.0),
            cache_hit_ratio: None,
            peak_rss_mb: Some(30.0),
            peak_cgroup_mb: Some(20.0),
        }
    }
}
