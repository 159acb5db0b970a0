//! `perf capacity`: runs the max-RPS plan against ingest and query confined to each resource
//! profile, finds the highest rate that meets the SLO, names what limited it, optionally runs
//! that rate for longer, and sizes replicas for a target. Writes capacity.md, capacity.json and
//! plots.

mod limit;
mod plot;
pub mod profile;
mod replicas;
mod report;
mod search;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::{CapacityArgs, IngestScenario};
use crate::confine::Confinement;
use crate::ids::Population;
use crate::plan::{Bounds, StepConfig};
use crate::recorder::Recorder;
use crate::scenarios::{Scenario, Workload};
use crate::stack::{self, Stack, StackOptions, Targets};
use profile::Profile;
use replicas::{Measured, Replicas, StoreLoad};
use search::{Role, Search, Searcher, Step};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One service's search and what it comes to.
#[derive(Debug, Serialize)]
pub struct ServiceReport {
    pub search: Search,
    /// The highest step that met the SLO.
    pub at_max: Option<Step>,
    /// Highest resident set size over the search, in MB.
    pub peak_rss_mb: Option<f64>,
    /// Highest memory use of the cgroup over the search, in MB, when confined by one.
    pub peak_cgroup_mb: Option<f64>,
    /// Causes that kept it from a higher rate, most direct first; empty when every step met
    /// the SLO.
    pub limited_by: Vec<String>,
}

/// Sustained steps, from the highest down, that a hold tries before it gives up.
const MAX_HOLDS: usize = 3;

/// A run of one confined ingest at one rate for `--hold`.
#[derive(Debug, Serialize)]
pub struct Hold {
    pub duration_s: f64,
    pub step: Step,
    pub held: bool,
}

#[derive(Debug, Serialize)]
pub struct ProfileReport {
    pub profile: Profile,
    pub name: String,
    /// The confinement method of the services.
    pub confinement: String,
    /// Cores the services could use under that confinement.
    pub quota_cores: f64,
    pub ingest: ServiceReport,
    pub query: Option<ServiceReport>,
    /// Holds from the highest sustained rate down, until one met the SLO; the maximum
    /// reported for ingest is the rate that held.
    pub holds: Vec<Hold>,
    /// Processes the kernel's OOM killer ended in the services' cgroups.
    pub oom_kills: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct QuerySizing {
    pub target_rps: u32,
    pub replicas: Vec<Replicas>,
    pub store_queries_per_s: Option<f64>,
    pub arithmetic: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Sizing {
    pub target_rps: Option<u32>,
    pub headroom: f64,
    pub ingest: Vec<Replicas>,
    pub store: Option<StoreLoad>,
    pub query: Option<QuerySizing>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: String,
    pub command: String,
    pub slo: Bounds,
    pub scenario: Scenario,
    pub reactions_per_request: usize,
    pub read_mix: String,
    pub step_duration_s: f64,
    pub step_warmup_s: f64,
    pub profiles: Vec<ProfileReport>,
    pub sizing: Option<Sizing>,
}

pub fn run(args: CapacityArgs) -> Result<()> {
    crate::cli::check_steps("--steps", &args.steps)?;
    crate::cli::check_steps("--query-steps", &args.query_steps)?;
    std::fs::create_dir_all(&args.report_dir)
        .with_context(|| format!("cannot create {}", args.report_dir.display()))?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => stack::default_bin_dir()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let mut profiles = Vec::new();
    for &profile in &args.profiles {
        profiles.push(measure_profile(&runtime, profile, &args, &bin_dir)?);
    }

    let report = Report {
        machine: crate::machine::describe(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        slo: args.slo.bounds(),
        scenario: args.scenario.into(),
        reactions_per_request: reactions_per_request(&args),
        read_mix: args.requests.read_mix.to_string(),
        step_duration_s: args.step_duration.as_secs_f64(),
        step_warmup_s: args.step_warmup.as_secs_f64(),
        sizing: sizing(&args, &profiles),
        profiles,
    };
    report::write(&args.report_dir, &report)?;
    plot::draw(&args.report_dir, &report)?;
    print!("{}", report::summary(&report));
    Ok(())
}

fn reactions_per_request(args: &CapacityArgs) -> usize {
    match args.scenario {
        IngestScenario::IngestBatch => args.requests.batch_size,
        IngestScenario::IngestSingle => 1,
    }
}

/// Starts a stack confined to `profile`, searches ingest's and query's maximum, and runs
/// ingest at its maximum for `--hold`.
fn measure_profile(
    runtime: &tokio::runtime::Runtime,
    profile: Profile,
    args: &CapacityArgs,
    bin_dir: &Path,
) -> Result<ProfileReport> {
    tracing::info!(%profile, "measuring a profile");
    let ingest_confinement = Confinement::create(profile, args.confine)?;
    let query_confinement = Confinement::create(profile, args.confine)?;
    let confinement = ingest_confinement.describe();
    let quota_cores = ingest_confinement.quota_cores(profile);
    let mut ingest_args = ingest_confinement.ingest_flags(profile);
    ingest_args.extend(args.ingest_arg.iter().cloned());
    let stack = Stack::start(
        bin_dir,
        StackOptions {
            ingest_args,
            ingest_confinement: Some(ingest_confinement),
            query_confinement: Some(query_confinement),
            ceiling: false,
        },
    )?;
    let targets = stack.targets();

    let ingest_searcher = searcher(runtime, Role::Ingest, args, &stack, &targets)?;
    let mut ingest = ingest_searcher.search(&args.steps, args.refine)?;
    let holds = hold(&ingest_searcher, &ingest, args)?;
    let missed = lower_to_held(&mut ingest, &holds);
    let mut ingest = service_report(ingest, &holds, Role::Ingest, quota_cores);
    if let Some(missed) = missed {
        ingest.limited_by.insert(0, missed);
    }

    let query = if args.no_query {
        None
    } else {
        crate::maxrps::seed(&targets.ingest_url)?;
        let query_searcher = searcher(runtime, Role::Query, args, &stack, &targets)?;
        let search = query_searcher.search(&args.query_steps, args.refine)?;
        Some(service_report(search, &[], Role::Query, quota_cores))
    };

    let oom_kills = [&stack.ingest_confinement, &stack.query_confinement]
        .into_iter()
        .flatten()
        .map(Confinement::oom_kills)
        .sum();
    Ok(ProfileReport {
        profile,
        name: profile.to_string(),
        confinement,
        quota_cores,
        ingest,
        query,
        holds,
        oom_kills,
    })
}

fn searcher<'a>(
    runtime: &'a tokio::runtime::Runtime,
    role: Role,
    args: &CapacityArgs,
    stack: &'a Stack,
    targets: &Targets,
) -> Result<Searcher<'a>> {
    let (scenario, url, confinement) = match role {
        Role::Ingest => (
            args.scenario.into(),
            &targets.ingest_url,
            &stack.ingest_confinement,
        ),
        Role::Query => (
            Scenario::Query,
            &targets.query_url,
            &stack.query_confinement,
        ),
    };
    let processes = [role.name(), "influxd"]
        .into_iter()
        .filter_map(|name| targets.pid(name).map(|pid| (name.to_owned(), pid)))
        .collect();
    Ok(Searcher {
        runtime,
        role,
        scenario,
        workload: Arc::new(Workload {
            ingest_url: targets.ingest_url.clone(),
            query_url: targets.query_url.clone(),
            population: Population::default(),
            batch_size: args.requests.batch_size,
            timestamps: true,
            write_weight: 1,
            read_weight: 1,
            read_mix: args.requests.read_mix,
            recorder: Arc::new(Recorder::default()),
        }),
        config: StepConfig {
            warmup: args.step_warmup,
            duration: args.step_duration,
            request_timeout: REQUEST_TIMEOUT,
            deadline: None,
        },
        bounds: args.slo.bounds(),
        processes,
        confinement: confinement
            .as_ref()
            .context("the service is not confined")?,
        service_url: url.clone(),
        client: reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?,
    })
}

/// Runs ingest for `--hold` at the target rate of its highest sustained step, and when that
/// misses the SLO, at the next lower sustained step, up to `MAX_HOLDS` runs.
fn hold(searcher: &Searcher, search: &Search, args: &CapacityArgs) -> Result<Vec<Hold>> {
    if args.hold.is_zero() {
        return Ok(Vec::new());
    }
    let mut rates: Vec<u32> = search
        .steps
        .iter()
        .filter(|step| step.sustained())
        .map(|step| step.result.target_rps)
        .filter(|rate| search.max_target_rps.is_some_and(|max| *rate <= max))
        .collect();
    rates.sort_unstable_by(|a, b| b.cmp(a));

    let config = StepConfig {
        duration: args.hold,
        ..searcher.config
    };
    let mut holds = Vec::new();
    for rate in rates.into_iter().take(MAX_HOLDS) {
        tracing::info!(target_rps = rate, duration = ?args.hold, "holding a sustained rate");
        let step = searcher.measure_with(rate, config)?;
        let held = step.sustained();
        holds.push(Hold {
            duration_s: args.hold.as_secs_f64(),
            held,
            step,
        });
        if held {
            break;
        }
    }
    Ok(holds)
}

/// Lowers the search's maximum to the rate that held, and returns why when it had to.
fn lower_to_held(search: &mut Search, holds: &[Hold]) -> Option<String> {
    let first = holds.first().filter(|hold| !hold.held)?;
    let reason = format!(
        "a {} s hold at {} requests/s missed the SLO ({})",
        first.duration_s,
        first.step.result.target_rps,
        first
            .step
            .result
            .failed_because
            .as_deref()
            .unwrap_or("no reason recorded"),
    );
    let held = holds.iter().find(|hold| hold.held);
    search.max_target_rps = held.map(|hold| hold.step.result.target_rps);
    search.max_rps = search
        .step_at(search.max_target_rps)
        .map(|step| step.result.achieved_rps.round() as u32);
    Some(reason)
}

/// Sums up a search; the peaks take in `holds`, which ran after it.
fn service_report(search: Search, holds: &[Hold], role: Role, quota_cores: f64) -> ServiceReport {
    let limited_by = limit::explain(&search, role, quota_cores);
    let at_max = search.step_at(search.max_target_rps).cloned();
    let peak = |reading: fn(&Step) -> Option<f64>| {
        let held = holds.iter().map(|hold| &hold.step);
        search
            .steps
            .iter()
            .chain(held)
            .filter_map(reading)
            .reduce(f64::max)
    };
    let peak_rss_mb = peak(|step| step.peak_rss_mb);
    let peak_cgroup_mb = peak(|step| step.peak_cgroup_mb);
    ServiceReport {
        search,
        at_max,
        peak_rss_mb,
        peak_cgroup_mb,
        limited_by,
    }
}

impl ProfileReport {
    /// Names the profile for sizing, with the cores taskset really gave when they differ.
    fn label(&self) -> String {
        if self.quota_cores == self.profile.cpus {
            self.name.clone()
        } else {
            format!(
                "{} (measured with {} whole cores by taskset)",
                self.name, self.quota_cores
            )
        }
    }
}

/// Sizes replicas for `--target-rps` and `--query-target-rps`, when given.
fn sizing(args: &CapacityArgs, profiles: &[ProfileReport]) -> Option<Sizing> {
    if args.target_rps.is_none() && args.query_target_rps.is_none() {
        return None;
    }
    let measured = |service: &dyn Fn(&ProfileReport) -> Option<&ServiceReport>| -> Vec<Measured> {
        profiles
            .iter()
            .map(|profile| {
                let report = service(profile);
                Measured {
                    profile: profile.label(),
                    max_rps: report.and_then(|report| report.search.max_rps),
                    lower_bound: report.is_some_and(|report| {
                        report.search.max_rps.is_some() && report.limited_by.is_empty()
                    }),
                }
            })
            .collect()
    };

    let ingest = args.target_rps.map_or_else(Vec::new, |target| {
        replicas::replicas(target, args.headroom, &measured(&|p| Some(&p.ingest)))
    });
    let store = args.target_rps.map(|target| {
        replicas::store_load(target, reactions_per_request(args), influxd_cost(profiles))
    });
    let query = args.query_target_rps.map(|target| {
        // The lowest ratio of the profiles, so that the store is not undersized.
        let hit_ratio = profiles
            .iter()
            .filter_map(|p| p.query.as_ref()?.at_max.as_ref()?.cache_hit_ratio)
            .reduce(f64::min);
        let queries = profiles
            .iter()
            .any(|p| p.query.is_some())
            .then(|| replicas::store_queries(target, hit_ratio));
        QuerySizing {
            target_rps: target,
            replicas: replicas::replicas(target, args.headroom, &measured(&|p| p.query.as_ref())),
            store_queries_per_s: queries.as_ref().map(|(rate, _)| *rate),
            arithmetic: queries.map(|(_, text)| text),
        }
    });
    Some(Sizing {
        target_rps: args.target_rps,
        headroom: args.headroom,
        ingest,
        store,
        query,
    })
}

/// Returns influxd's CPU per stored reaction at the highest sustained ingest step, taking the
/// largest over the profiles to stay on the safe side.
fn influxd_cost(profiles: &[ProfileReport]) -> Option<f64> {
    profiles
        .iter()
        .filter_map(|profile| profile.ingest.at_max.as_ref())
        .flat_map(|step| step.result.processes.iter())
        .filter(|process| process.process == "influxd")
        .filter_map(|process| process.us_per_reaction)
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use search::fixtures::step;

    fn search() -> Search {
        Search {
            steps: vec![
                step(250, 0.1, 0, 2.0),
                step(500, 0.2, 0, 2.0),
                step(1000, 0.5, 0, 9.0),
            ],
            max_rps: Some(500),
            max_target_rps: Some(500),
            first_failed_target_rps: Some(1000),
        }
    }

    fn hold(target_rps: u32, held: bool) -> Hold {
        Hold {
            duration_s: 120.0,
            step: step(target_rps, 0.2, 0, 2.0),
            held,
        }
    }

    #[test]
    fn lower_to_held_keeps_a_held_maximum() {
        let mut search = search();
        assert_eq!(lower_to_held(&mut search, &[hold(500, true)]), None);
        assert_eq!(search.max_target_rps, Some(500));
    }

    #[test]
    fn lower_to_held_steps_down_after_a_miss() {
        let mut search = search();
        let reason = lower_to_held(&mut search, &[hold(500, false), hold(250, true)]);
        assert!(reason.is_some_and(|why| why.contains("hold at 500")));
        assert_eq!(search.max_target_rps, Some(250));
        assert_eq!(search.max_rps, Some(250));
    }

    #[test]
    fn lower_to_held_without_a_held_rate() {
        let mut search = search();
        lower_to_held(&mut search, &[hold(500, false), hold(250, false)]);
        assert_eq!(search.max_target_rps, None);
        assert_eq!(search.max_rps, None);
    }
}
