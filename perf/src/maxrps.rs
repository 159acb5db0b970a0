//! `perf maxrps`: the stepped plan for each scenario, against the services and against the
//! ceiling server, with the report.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::MaxRpsArgs;
use crate::ids::Population;
use crate::plan::{self, PlanResult, StepConfig, StepResult};
use crate::recorder::Recorder;
use crate::scenarios::{Scenario, Workload};
use crate::stack::{self, Targets};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Reactions written before the read scenarios, so that reads find data.
const SEED_BATCHES: usize = 100;
const SEED_BATCH_SIZE: usize = 100;

#[derive(Debug, Serialize)]
struct ScenarioReport {
    scenario: Scenario,
    service: PlanResult,
    ceiling: Option<PlanResult>,
    /// One step at half the service's maximum sustainable rate.
    half_load: Option<StepResult>,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: String,
    rss_at_rest_mb: Vec<(String, f64)>,
    scenarios: Vec<ScenarioReport>,
}

pub fn run(args: MaxRpsArgs) -> Result<()> {
    crate::cli::check_steps("--steps", &args.steps)?;
    std::fs::create_dir_all(&args.report_dir)
        .with_context(|| format!("cannot create {}", args.report_dir.display()))?;
    let (targets, _stack) = stack::resolve(&args.target)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let rss_at_rest_mb = read_rss(&targets.processes);
    if args.scenario.iter().any(|scenario| scenario.reads()) {
        seed(&targets.ingest_url)?;
    }

    let deadline = args.duration.map(|budget| Instant::now() + budget);
    let mut scenarios = Vec::new();
    for &scenario in &args.scenario {
        scenarios.push(run_scenario(&runtime, scenario, &args, &targets, deadline)?);
    }

    let report = Report {
        machine: crate::machine::describe(),
        rss_at_rest_mb,
        scenarios,
    };
    write_report(&args, &report)?;
    print!("{}", summary_lines(&report));
    Ok(())
}

fn run_scenario(
    runtime: &tokio::runtime::Runtime,
    scenario: Scenario,
    args: &MaxRpsArgs,
    targets: &Targets,
    deadline: Option<Instant>,
) -> Result<ScenarioReport> {
    let config = StepConfig {
        warmup: args.step_warmup,
        duration: args.step_duration,
        request_timeout: REQUEST_TIMEOUT,
        deadline,
    };
    let bounds = args.slo.bounds();
    let service_processes: Vec<(String, u32)> = targets
        .processes
        .iter()
        .filter(|(name, _)| name != "ceiling")
        .cloned()
        .collect();

    let ceiling = match (&targets.ceiling_url, args.no_ceiling) {
        (Some(url), false) => {
            tracing::info!(scenario = scenario.name(), "measuring the ceiling server");
            let workload = workload(args, url, url);
            let processes: Vec<(String, u32)> = targets
                .pid("ceiling")
                .map(|pid| ("ceiling".to_owned(), pid))
                .into_iter()
                .collect();
            Some(plan::run_plan(
                runtime,
                scenario,
                &workload,
                &args.steps,
                config,
                bounds,
                &processes,
            )?)
        }
        _ => None,
    };

    tracing::info!(scenario = scenario.name(), "measuring the services");
    let workload = workload(args, &targets.ingest_url, &targets.query_url);
    let service = plan::run_plan(
        runtime,
        scenario,
        &workload,
        &args.steps,
        config,
        bounds,
        &service_processes,
    )?;

    let half_load = match service.max_sustainable_target_rps {
        Some(max) if config.step_fits() => Some(plan::run_step(
            runtime,
            scenario,
            &workload,
            (max / 2).max(1),
            config,
            bounds,
            &service_processes,
        )?),
        _ => None,
    };

    Ok(ScenarioReport {
        scenario,
        service,
        ceiling,
        half_load,
    })
}

fn workload(args: &MaxRpsArgs, ingest_url: &str, query_url: &str) -> Arc<Workload> {
    Arc::new(Workload {
        ingest_url: ingest_url.to_owned(),
        query_url: query_url.to_owned(),
        population: Population::default(),
        batch_size: args.requests.batch_size,
        timestamps: true,
        write_weight: args.write_weight,
        read_weight: args.read_weight,
        read_mix: args.requests.read_mix,
        recorder: Arc::new(Recorder::default()),
    })
}

/// Writes reactions before the read scenarios run, so that reads find data.
pub fn seed(ingest_url: &str) -> Result<()> {
    let client = reqwest::blocking::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let population = Population::default();
    for _ in 0..SEED_BATCHES {
        client
            .post(format!("{ingest_url}/v1/reactions"))
            .header("content-type", "application/json")
            .body(population.batch_json(SEED_BATCH_SIZE, true))
            .send()
            .and_then(|response| response.error_for_status())
            .context("seeding reactions for the read scenarios failed")?;
    }
    Ok(())
}

fn read_rss(processes: &[(String, u32)]) -> Vec<(String, f64)> {
    processes
        .iter()
        .filter_map(|(name, pid)| {
            let bytes = crate::procfs::rss_bytes(*pid).ok()?;
            Some((name.clone(), bytes as f64 / 1e6))
        })
        .collect()
}

fn write_report(args: &MaxRpsArgs, report: &Report) -> Result<()> {
    let json_path = args.report_dir.join("maxrps.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let markdown_path = args.report_dir.join("maxrps.md");
    std::fs::write(&markdown_path, markdown(args, report))
        .with_context(|| format!("cannot write {}", markdown_path.display()))?;
    tracing::info!(report = %markdown_path.display(), "report written");
    Ok(())
}

/// Formats one line per scenario with the maximum sustainable rate and the ratio to the
/// ceiling server.
fn summary_lines(report: &Report) -> String {
    let mut text = String::new();
    for scenario in &report.scenarios {
        let service = scenario.service.max_sustainable_rps;
        let ceiling = scenario
            .ceiling
            .as_ref()
            .and_then(|plan| plan.max_sustainable_rps);
        let _ = writeln!(
            text,
            "{}: max sustainable {} requests/s{}; ceiling server {}{}; ratio {}",
            scenario.scenario.name(),
            rate_text(service),
            unbounded_text(&scenario.service),
            rate_text(ceiling),
            scenario.ceiling.as_ref().map_or("", unbounded_text),
            ratio_text(service, ceiling),
        );
    }
    text
}

/// Warns when no step failed: the maximum is then at least the figure, not the figure.
fn unbounded_text(plan: &PlanResult) -> &'static str {
    match plan.steps.last() {
        Some(step) if step.sustained() => " (every step was sustained, so the maximum is higher)",
        _ => "",
    }
}

fn rate_text(rate: Option<u32>) -> String {
    rate.map_or("none (the first step failed)".to_owned(), |rate| {
        rate.to_string()
    })
}

fn ratio_text(service: Option<u32>, ceiling: Option<u32>) -> String {
    match (service, ceiling) {
        (Some(service), Some(ceiling)) if ceiling > 0 => {
            format!("{:.2}", service as f64 / ceiling as f64)
        }
        _ => "n/a".to_owned(),
    }
}

fn markdown(args: &MaxRpsArgs, report: &Report) -> String {
    let mut text = String::from("# perf maxrps\n\n");
    let _ = writeln!(text, "Machine: {}\n", report.machine);
    let _ = writeln!(
        text,
        "A step is sustained when its failure rate (503 included) is under {:.3}%, its p99 is at most {} ms, and it achieves 95% of its target rate unless most users were idle (then the generator's throttle was the limit). Rates are achieved rates. Steps last {:?} after a {:?} warm-up.\n",
        args.slo.max_failure_rate * 100.0,
        args.slo.p99_ms,
        args.step_duration,
        args.step_warmup
    );
    text.push_str("## Summary\n\n");
    text.push_str(&summary_lines(report).replace('\n', "\n\n"));
    let rest: Vec<String> = report
        .rss_at_rest_mb
        .iter()
        .map(|(name, mb)| format!("{name} {mb:.1} MB"))
        .collect();
    let _ = writeln!(text, "RSS at rest: {}\n", rest.join(", "));

    for scenario in &report.scenarios {
        let _ = writeln!(text, "## {}\n", scenario.scenario.name());
        text.push_str("### Services\n\n");
        text.push_str(&steps_table(&scenario.service.steps));
        if let Some(ceiling) = &scenario.ceiling {
            text.push_str("\n### Ceiling server\n\n");
            text.push_str(&steps_table(&ceiling.steps));
        }
        if let Some(half) = &scenario.half_load {
            text.push_str("\n### At half the maximum sustainable rate\n\n");
            text.push_str(&steps_table(std::slice::from_ref(half)));
        }
        text.push('\n');
    }
    text
}

fn steps_table(steps: &[StepResult]) -> String {
    let mut text = String::from(
        "| target/s | achieved/s | busy users | reactions/s | 2xx | 503 | errors | p50 ms | p99 ms | CPU µs per request (per stored reaction for influxd) | RSS MB | generator cores | machine busy | sustained |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for step in steps {
        let cpu: Vec<String> = step.processes.iter().map(cpu_text).collect();
        let rss: Vec<String> = step
            .processes
            .iter()
            .filter_map(|cpu| cpu.rss_mb.map(|mb| format!("{} {mb:.0}", cpu.process)))
            .collect();
        let generator = if step.generator_saturated {
            format!("{:.2} (saturated)", step.generator_cores)
        } else {
            format!("{:.2}", step.generator_cores)
        };
        let _ = writeln!(
            text,
            "| {} | {:.0} | {:.0} of {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {} |",
            step.target_rps,
            step.achieved_rps,
            step.busy_users,
            step.users,
            step.reactions_per_s,
            step.counts.success,
            step.counts.backpressure,
            step.counts.errors(),
            optional_ms(step.p50_ms),
            optional_ms(step.p99_ms),
            cpu.join(", "),
            rss.join(", "),
            generator,
            step.machine_busy * 100.0,
            step.failed_because.as_deref().unwrap_or("yes"),
        );
    }
    text
}

fn cpu_text(cpu: &plan::ProcessCpu) -> String {
    let figure = if cpu.process == "influxd" {
        cpu.us_per_reaction
    } else {
        cpu.us_per_request
    };
    match figure {
        Some(us) => format!("{} {us:.0}", cpu.process),
        None => format!("{} n/a", cpu.process),
    }
}

fn optional_ms(value: Option<f64>) -> String {
    value.map_or("n/a".to_owned(), |ms| format!("{ms:.1}"))
}
