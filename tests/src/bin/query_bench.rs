//! Measures latency and throughput of every query endpoint against a running query service,
//! with ids taken from a dataset manifest. Prints a Markdown table and can write JSON.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::Parser;
use reactions_tests::scale::bench::{self, Report, SCENARIOS, Scenario, Settings};
use reactions_tests::scale::manifest::Manifest;
use shared::store::humantime_duration;

/// Benchmarks the query endpoints with a closed loop of concurrent clients.
#[derive(Parser)]
#[command(name = "query_bench")]
struct Args {
    /// Base URL of the query service, for example http://127.0.0.1:8081.
    #[arg(long)]
    url: String,

    /// Manifest written by `dataset` for the store the service reads.
    #[arg(long)]
    manifest: PathBuf,

    /// Concurrent clients; each sends its next request when it receives the response to the previous one.
    #[arg(long, default_value = "8")]
    clients: NonZeroUsize,

    /// Measured time per scenario.
    #[arg(long, default_value = "20s", value_parser = humantime_duration)]
    duration: Duration,

    /// Unmeasured time per scenario before the measured time, to fill caches and pools.
    #[arg(long, default_value = "2s", value_parser = humantime_duration)]
    warmup: Duration,

    /// Time limit for one request; slower requests count as errors.
    #[arg(long, default_value = "30s", value_parser = humantime_duration)]
    timeout: Duration,

    /// Scenario to run, such as article-summary/hottest; repeat for several. Default: all.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,

    /// Heading of the Markdown table. Default: the manifest's store.
    #[arg(long)]
    label: Option<String>,

    /// Where to write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,

    /// Seed of the random choice of ids.
    #[arg(long, default_value = "1")]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let manifest = Manifest::read(&args.manifest)?;
    let scenarios = chosen_scenarios(&args.scenarios)?;
    let settings = Settings {
        url: args.url.trim_end_matches('/').to_owned(),
        clients: args.clients.get(),
        duration: args.duration,
        warmup: args.warmup,
        timeout: args.timeout,
        seed: args.seed,
    };

    let mut results = Vec::new();
    for scenario in scenarios {
        eprintln!("query_bench: running {}", scenario.name());
        let result = bench::run(&settings, &manifest, scenario)?;
        if let Some(error) = &result.first_error {
            eprintln!(
                "query_bench: {} had {} errors; the first: {error}",
                result.scenario, result.errors
            );
        }
        results.push(result);
    }

    let label = args.label.unwrap_or_else(|| manifest.store.clone());
    println!("{}", bench::markdown(&label, &results));
    if let Some(path) = &args.json {
        let report = Report::new(label, &settings, &manifest, results);
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    Ok(())
}

fn chosen_scenarios(names: &[String]) -> anyhow::Result<Vec<Scenario>> {
    if names.is_empty() {
        return Ok(SCENARIOS.to_vec());
    }
    names
        .iter()
        .map(|name| match SCENARIOS.iter().find(|s| s.name() == *name) {
            Some(scenario) => Ok(*scenario),
            None => {
                let known: Vec<String> = SCENARIOS.iter().map(Scenario::name).collect();
                bail!("unknown scenario {name:?}; known: {}", known.join(", "))
            }
        })
        .collect()
}
