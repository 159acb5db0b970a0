//! `perf soak`: a fixed rate of single-reaction POSTs for a long time, sampled from outside,
//! judged by the gates, and written up as CSV, Markdown and SVG plots.

mod gates;
mod plot;
mod report;
mod sample;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cli::SoakArgs;
use crate::ids::Population;
use crate::load::{self, Attack};
use crate::metrics;
use crate::read_mix::ReadMix;
use crate::recorder::Recorder;
use crate::scenarios::{Scenario, Workload};
use crate::stack::{self, Targets};
use crate::store;
use gates::{Delivery, GateResult, Verdict};
use report::{CsvWriter, Summary};
use sample::{Sampler, SamplingThread};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Mean latency the soak's users absorb at its rate: a healthy ingest responds well within it.
const SOAK_LATENCY_BUDGET: Duration = Duration::from_millis(50);

/// Runs the soak and returns whether every gate passed.
pub fn run(args: SoakArgs) -> Result<bool> {
    std::fs::create_dir_all(&args.report_dir)
        .with_context(|| format!("cannot create {}", args.report_dir.display()))?;
    let (targets, stack) = stack::resolve(&args.target)?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let stored_before = count_stored(&client, &targets)?;
    let sampler = Sampler::new(targets.clone())?;
    let accepted_before = sampler
        .scrape()
        .and_then(|scrape| scrape.get(metrics::ACCEPTED));
    let mut csv = CsvWriter::create(&args.report_dir.join("samples.csv"), &sampler.roles)?;

    let recorder = Arc::new(Recorder::default());
    let workload = Arc::new(Workload {
        ingest_url: targets.ingest_url.clone(),
        query_url: targets.query_url.clone(),
        population: Population::default(),
        batch_size: 1,
        // Without a client timestamp ingest gives every reaction its own store time, so each
        // accepted reaction is a distinct point and accepted == stored is an exact check.
        // With client timestamps, two identical reactions in one millisecond are one point by
        // design.
        timestamps: false,
        write_weight: 1,
        read_weight: 0,
        read_mix: ReadMix::default(),
        recorder: recorder.clone(),
    });
    let attack = Attack {
        rate: args.rate,
        run_time: args.duration,
        request_timeout: REQUEST_TIMEOUT,
        latency_budget: SOAK_LATENCY_BUDGET,
    };

    tracing::info!(rate = args.rate, duration = ?args.duration, "soak started");
    let sampling = SamplingThread::start(
        sampler,
        recorder.clone(),
        args.sample_interval,
        move |sample| {
            if let Err(error) = csv.append(sample) {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot append a sample to the CSV"
                );
            }
        },
    );
    let attack_result = runtime.block_on(load::run(Scenario::IngestSingle, workload, attack));
    let samples = sampling.finish();
    attack_result?;
    // Responses after the last sample still count as accepted.
    let client_accepted = samples.iter().map(|sample| sample.accepted).sum::<u64>()
        + recorder.take().accepted_reactions;
    tracing::info!(
        samples = samples.len(),
        "load finished; waiting for ingest to drain"
    );

    let metrics_accepted_after = wait_for_drain(&client, &targets, args.drain_timeout);
    let stored_after = count_stored(&client, &targets)?;
    let delivery = Delivery {
        client_accepted,
        metrics_accepted: match (accepted_before, metrics_accepted_after) {
            (Some(before), Some(after)) => Some((after - before) as u64),
            _ => None,
        },
        stored: match (stored_before, stored_after) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        },
    };
    drop(stack);

    let warmup_s = args.warmup.as_secs_f64();
    let (rss_gate, rss_slope) =
        gates::rss_slope(&samples, warmup_s, args.max_rss_slope_mb_per_hour);
    let gate_results = vec![
        rss_gate,
        gates::buffer_trend(&samples, warmup_s, args.max_buffer_rise),
        gates::store_sockets(&samples, args.store_pool_size),
        gates::time_wait_trend(&samples, warmup_s, args.max_time_wait_rise),
        gates::exactly_once(delivery),
    ];

    let plots = plot::draw_all(&args.report_dir, &samples)?;
    let summary = Summary {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: crate::machine::describe(),
        samples: &samples,
        gates: &gate_results,
        delivery,
        rss_slope_mb_per_hour: rss_slope,
        plots: &plots,
    };
    let summary_path = args.report_dir.join("summary.md");
    std::fs::write(&summary_path, report::markdown(&summary))
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    std::fs::write(
        args.report_dir.join("gates.json"),
        serde_json::to_vec_pretty(&gate_results)?,
    )?;

    log_gates(&gate_results);
    tracing::info!(report = %summary_path.display(), "soak report written");
    Ok(gate_results
        .iter()
        .all(|gate| gate.verdict != Verdict::Failed))
}

fn count_stored(client: &reqwest::blocking::Client, targets: &Targets) -> Result<Option<u64>> {
    match &targets.influx_url {
        Some(url) => Ok(Some(store::count_reactions(
            client,
            url,
            &targets.influx_db,
        )?)),
        None => Ok(None),
    }
}

/// Waits until ingest has written or dropped everything it accepted, by its `/metrics`, or
/// until `timeout`; returns the accepted total then. Without `/metrics` it waits for the
/// stored count to stop changing.
fn wait_for_drain(
    client: &reqwest::blocking::Client,
    targets: &Targets,
    timeout: Duration,
) -> Option<f64> {
    let deadline = Instant::now() + timeout;
    let mut last_stored = None;
    loop {
        let scrape = metrics::scrape(client, &targets.ingest_url).ok();
        let accepted = scrape.as_ref().and_then(|s| s.get(metrics::ACCEPTED));
        let done = scrape
            .as_ref()
            .and_then(|s| Some(s.get(metrics::WRITTEN)? + s.get(metrics::DROPPED).unwrap_or(0.0)));
        match (accepted, done) {
            (Some(accepted), Some(done)) if done >= accepted => return Some(accepted),
            (Some(_), Some(_)) => {}
            _ => {
                // No /metrics: two equal counts a second apart mean the writers are idle.
                let stored = count_stored(client, targets).ok().flatten();
                if stored.is_none() || (stored == last_stored) {
                    return accepted;
                }
                last_stored = stored;
            }
        }
        if Instant::now() >= deadline {
            tracing::warn!(?timeout, "ingest did not drain in time");
            return accepted;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn log_gates(gates: &[GateResult]) {
    for gate in gates {
        match gate.verdict {
            Verdict::Failed => {
                tracing::error!(gate = gate.gate, detail = %gate.detail, "gate failed")
            }
            _ => {
                tracing::info!(gate = gate.gate, verdict = ?gate.verdict, detail = %gate.detail, "gate")
            }
        }
    }
}
