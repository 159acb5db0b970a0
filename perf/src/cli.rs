//! The command line: `perf maxrps`, `perf soak`, `perf capacity` and `perf ceiling`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::capacity::profile::Profile;
use crate::ceiling::CeilingArgs;
use crate::confine::Method;
use crate::plan::Bounds;
use crate::read_mix::ReadMix;
use crate::scenarios::Scenario;

#[derive(Debug, Parser)]
#[command(
    name = "perf",
    about = "Load, max-RPS and soak tests of the reactions services"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Finds the maximum sustainable request rate of each scenario with a stepped load plan,
    /// against ingest and query and against the ceiling server.
    Maxrps(MaxRpsArgs),
    /// Runs a fixed rate for a long time, samples the services from outside, and fails when
    /// memory, buffer depth or sockets grow, or when a reaction is lost.
    Soak(SoakArgs),
    /// Serves the ceiling server: validates reactions as ingest does and stores nothing.
    Ceiling(CeilingArgs),
    /// Finds the maximum sustainable rate of ingest and query confined to each resource
    /// profile, and the replicas a target rate needs.
    Capacity(CapacityArgs),
}

/// Services a run measures. Without `--ingest-url`, the run starts its own InfluxDB,
/// ingest, query and ceiling server from `--bin-dir`, on free loopback ports.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Base URL of a running ingest; with it, nothing is started.
    #[arg(long)]
    pub ingest_url: Option<String>,
    /// Base URL of a running query (default: the ingest URL).
    #[arg(long)]
    pub query_url: Option<String>,
    /// Base URL of a running ceiling server, for the baseline of `maxrps`.
    #[arg(long)]
    pub ceiling_url: Option<String>,
    /// Base URL of the InfluxDB the services write to, for counting stored reactions and
    /// sockets to it.
    #[arg(long)]
    pub influx_url: Option<String>,
    #[arg(long, default_value = "reactions")]
    pub influx_db: String,
    /// PIDs of running services, for CPU, RSS and descriptor readings from /proc.
    #[arg(long)]
    pub ingest_pid: Option<u32>,
    #[arg(long)]
    pub query_pid: Option<u32>,
    #[arg(long)]
    pub influx_pid: Option<u32>,
    #[arg(long)]
    pub ceiling_pid: Option<u32>,
    /// Directory of the ingest and query binaries to start (default: the directory of perf,
    /// so that `cargo build --release` is enough).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// A flag for the ingest this run starts, repeatable: `--ingest-arg=--writers=4`.
    #[arg(long, allow_hyphen_values = true)]
    pub ingest_arg: Vec<String>,
}

/// The contents of each request.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Reactions per POST in the ingest-batch scenario.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Relative weights of the reads in the query and mixed scenarios.
    #[arg(
        long,
        default_value = "user-summary=1,user-list=1,article-summary=1,article-list=1"
    )]
    pub read_mix: ReadMix,
}

/// The service level a sustainable step meets.
#[derive(Debug, Args)]
pub struct SloArgs {
    /// Highest p99 latency, in milliseconds, that a sustainable step may have.
    #[arg(long, default_value_t = 200.0, value_parser = parse_positive_ms)]
    pub p99_ms: f64,
    /// Highest failure rate (failed / all requests, 503 included) of a sustainable step: a
    /// fraction such as 0.001, or a percentage such as 0.1%.
    #[arg(long, default_value = "0.001", value_parser = parse_fraction)]
    pub max_failure_rate: f64,
}

impl SloArgs {
    pub fn bounds(&self) -> Bounds {
        Bounds {
            p99_ms: self.p99_ms,
            max_failure_rate: self.max_failure_rate,
        }
    }
}

#[derive(Debug, Args)]
pub struct MaxRpsArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Scenarios to measure, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ingest-single"
    )]
    pub scenario: Vec<Scenario>,
    /// Relative weight of writes in the mixed scenario.
    #[arg(long, default_value_t = 90)]
    pub write_weight: usize,
    /// Relative weight of reads in the mixed scenario.
    #[arg(long, default_value_t = 10)]
    pub read_weight: usize,
    #[command(flatten)]
    pub requests: RequestArgs,
    #[command(flatten)]
    pub slo: SloArgs,
    /// Request rates of the steps, in requests per second, comma-separated and increasing.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "250,500,1000,2000,3000,4000,6000,8000,12000,16000"
    )]
    pub steps: Vec<u32>,
    /// Measured time of each step, after its warm-up.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20s")]
    pub step_duration: Duration,
    /// Time at the start of each step that is not measured, while connections open.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub step_warmup: Duration,
    /// Time budget of the whole run: no step starts that would end after it, so a smoke run
    /// can take the default steps and still end in time. Without it every step runs.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Measures only the services, without the ceiling server baseline.
    #[arg(long)]
    pub no_ceiling: bool,
    /// Directory for the report (created if missing).
    #[arg(long)]
    pub report_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Requests per second, each one single-reaction POST.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3h")]
    pub duration: Duration,
    /// Time at the start that the trend gates ignore, while caches and pools fill.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub warmup: Duration,
    /// Time between samples.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub sample_interval: Duration,
    /// Highest slope of ingest's RSS after the warm-up, in MB (10^6 bytes) per hour.
    #[arg(long, default_value_t = 1.0)]
    pub max_rss_slope_mb_per_hour: f64,
    /// Highest rise of the buffer depth over the measured part, from its fitted slope, as a
    /// fraction of the buffer capacity.
    #[arg(long, default_value_t = 0.05)]
    pub max_buffer_rise: f64,
    /// Most ESTABLISHED sockets to InfluxDB that the services may hold together: ingest keeps
    /// one per writer thread plus one for readiness probes, and an idle query one or two.
    #[arg(long, default_value_t = 8)]
    pub store_pool_size: u64,
    /// Highest rise of TIME_WAIT sockets to InfluxDB over the measured part, from their fitted
    /// slope.
    #[arg(long, default_value_t = 50.0)]
    pub max_time_wait_rise: f64,
    /// Maximum wait after the load for ingest to write everything it accepted.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s")]
    pub drain_timeout: Duration,
    /// Directory for the samples, the summary and the plots (created if missing).
    #[arg(long)]
    pub report_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// Resource profiles, comma-separated: a CPU quota and a memory limit per replica, as
    /// `cpus` and `mem_limit` set them in docker-compose.yml.
    #[arg(long, value_delimiter = ',', default_value = "0.5cpu-128mb,1cpu-256mb")]
    pub profiles: Vec<Profile>,
    /// How to confine ingest and query to a profile.
    #[arg(long, value_enum, default_value = "auto")]
    pub confine: Method,
    /// The ingest load.
    #[arg(long, value_enum, default_value = "ingest-single")]
    pub scenario: IngestScenario,
    #[command(flatten)]
    pub requests: RequestArgs,
    /// Measures ingest only.
    #[arg(long)]
    pub no_query: bool,
    /// Request rates of ingest's steps, comma-separated and increasing.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "250,500,1000,2000,3000,4000,6000,8000,12000,16000"
    )]
    pub steps: Vec<u32>,
    /// Request rates of query's steps, comma-separated and increasing.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100,200,400,700,1000,1500,2000,3000,4000,6000"
    )]
    pub query_steps: Vec<u32>,
    /// Bisection steps between the last sustained step and the first that was not.
    #[arg(long, default_value_t = 2)]
    pub refine: u32,
    /// Measured time of each step, after its warm-up.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "15s")]
    pub step_duration: Duration,
    /// Time at the start of each step that is not measured.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub step_warmup: Duration,
    #[command(flatten)]
    pub slo: SloArgs,
    /// After the search, runs one confined ingest at its maximum for this long and reports
    /// whether it held the SLO (0s skips it).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub hold: Duration,
    /// Ingest requests per second to size for.
    #[arg(long)]
    pub target_rps: Option<u32>,
    /// Capacity to keep spare above the target: `30%` or `30`.
    #[arg(long, value_parser = parse_percent, default_value = "30%")]
    pub headroom: f64,
    /// Query requests per second, in the read mix, to size for.
    #[arg(long)]
    pub query_target_rps: Option<u32>,
    /// Directory of the ingest and query binaries (default: the directory of perf).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// A flag for ingest, repeatable: `--ingest-arg=--writers=4`.
    #[arg(long, allow_hyphen_values = true)]
    pub ingest_arg: Vec<String>,
    /// Directory for capacity.md, capacity.json and the plots (created if missing).
    #[arg(long)]
    pub report_dir: PathBuf,
}

/// The scenarios that load ingest alone.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum IngestScenario {
    /// One reaction per POST.
    IngestSingle,
    /// Arrays of `--batch-size` reactions per POST.
    IngestBatch,
}

impl From<IngestScenario> for Scenario {
    fn from(scenario: IngestScenario) -> Scenario {
        match scenario {
            IngestScenario::IngestSingle => Scenario::IngestSingle,
            IngestScenario::IngestBatch => Scenario::IngestBatch,
        }
    }
}

/// Parses `30%` or `30` as 0.3. A bare number under 1 is rejected: `0.3` could mean 30%.
fn parse_percent(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let number = trimmed.trim_end_matches('%');
    let percent: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage such as 30%"))?;
    if !(0.0..=1000.0).contains(&percent) {
        return Err(format!("`{text}`: give a percentage from 0% to 1000%"));
    }
    if number == trimmed && percent > 0.0 && percent < 1.0 {
        return Err(format!(
            "`{text}` is ambiguous: write {:.0}% for that fraction, or {text}% for {text} percent",
            percent * 100.0
        ));
    }
    Ok(percent / 100.0)
}

/// Parses a fraction from 0 to 1, given as `0.001` or as `0.1%`.
fn parse_fraction(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(number) => (number, 100.0),
        None => (trimmed, 1.0),
    };
    let fraction = number
        .parse::<f64>()
        .map(|value| value / scale)
        .map_err(|_| {
            format!("`{text}` is not a fraction such as 0.001 or a percentage such as 0.1%")
        })?;
    if !(0.0..=1.0).contains(&fraction) {
        return Err(format!(
            "`{text}`: give a fraction from 0 to 1 (0% to 100%)"
        ));
    }
    Ok(fraction)
}

/// Parses a latency bound in milliseconds, which must be positive.
fn parse_positive_ms(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ms) if ms > 0.0 && ms.is_finite() => Ok(ms),
        _ => Err(format!("`{text}` is not a positive number of milliseconds")),
    }
}

/// Returns an error unless `steps` are request rates above 0 in increasing order.
pub fn check_steps(flag: &str, steps: &[u32]) -> anyhow::Result<()> {
    anyhow::ensure!(!steps.is_empty(), "{flag} needs at least one rate");
    anyhow::ensure!(
        steps[0] > 0 && steps.windows(2).all(|pair| pair[0] < pair[1]),
        "{flag} must be rates above 0 in increasing order, as in 250,500,1000; got {}",
        steps
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_reads_with_or_without_the_percent_sign() {
        assert_eq!(parse_percent("30%"), Ok(0.3));
        assert_eq!(parse_percent("50"), Ok(0.5));
        assert_eq!(parse_percent("0.5%"), Ok(0.005));
        assert!(parse_percent("lots").is_err());
        assert!(parse_percent("-5%").is_err());
        assert!(parse_percent("0.3").unwrap_err().contains("30%"));
    }

    #[test]
    fn failure_rate_reads_a_fraction_or_a_percentage() {
        assert_eq!(parse_fraction("0.001"), Ok(0.001));
        assert_eq!(parse_fraction("10%"), Ok(0.1));
        assert!(parse_fraction("5").unwrap_err().contains("from 0 to 1"));
        assert!(parse_fraction("many").is_err());
    }

    #[test]
    fn p99_bound_must_be_positive() {
        assert_eq!(parse_positive_ms("200"), Ok(200.0));
        assert!(parse_positive_ms("0").is_err());
        assert!(parse_positive_ms("-1").is_err());
    }

    #[test]
    fn steps_must_increase_from_above_zero() {
        assert!(check_steps("--steps", &[250, 500]).is_ok());
        let error = check_steps("--steps", &[2000, 500])
            .unwrap_err()
            .to_string();
        assert!(error.contains("2000,500"), "{error}");
        assert!(check_steps("--steps", &[0, 500]).is_err());
        assert!(check_steps("--steps", &[500, 500]).is_err());
        assert!(check_steps("--steps", &[]).is_err());
    }
}
