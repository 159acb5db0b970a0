//! Services a run measures: those it starts itself (InfluxDB, ingest, query and the
//! ceiling server, each on free loopback ports with temporary directories), or services that
//! are already running, given by URL.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reactions_tests::Influxd;
use tempfile::TempDir;

use crate::cli::TargetArgs;
use crate::service::Service;

/// Database of the runs that start their own InfluxDB.
const DATABASE: &str = "reactions_perf";

/// URLs to send load to, and processes to watch.
#[derive(Clone, Debug)]
pub struct Targets {
    pub ingest_url: String,
    pub query_url: String,
    pub ceiling_url: Option<String>,
    pub influx_url: Option<String>,
    pub influx_db: String,
    /// Processes whose CPU, memory and descriptors are read from /proc, by role.
    pub processes: Vec<(String, u32)>,
}

impl Targets {
    pub fn pid(&self, role: &str) -> Option<u32> {
        self.processes
            .iter()
            .find(|(name, _)| name == role)
            .map(|(_, pid)| *pid)
    }
}

/// Services this run started; dropping it stops them (ingest first, so that it can drain into
/// InfluxDB before InfluxDB goes).
pub struct Stack {
    pub ingest: Service,
    pub query: Service,
    pub ceiling: Service,
    pub influxd: Influxd,
    _logs: TempDir,
}

impl Stack {
    /// Starts InfluxDB, ingest, query and the ceiling server. `ingest_args` are added to
    /// ingest's flags.
    pub fn start(bin_dir: &Path, ingest_args: &[String]) -> Result<Stack> {
        let logs = tempfile::Builder::new()
            .prefix("perf-stack-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        // NOTE: Influxd::start comes from the test harness. It panics, with influxd's log, when
        // InfluxDB does not start, and its influxd outlives a perf killed by SIGKILL or SIGTERM,
        // unlike the services started here.
        let influxd = Influxd::start();
        let influx_url = influxd.url("");
        let store_args = vec![
            "--influx-url".to_owned(),
            influx_url,
            "--influx-db".to_owned(),
            DATABASE.to_owned(),
            "--data-dir".to_owned(),
            logs.path().display().to_string(),
        ];

        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(store_args.iter().cloned());
        args.extend(ingest_args.iter().cloned());
        let ingest = Service::start("ingest", &binary(bin_dir, "ingest")?, &args, logs.path())?;

        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(store_args);
        let query = Service::start("query", &binary(bin_dir, "query")?, &args, logs.path())?;

        let perf = std::env::current_exe().context("cannot find the perf executable")?;
        let args = vec![
            "ceiling".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
        ];
        let ceiling = Service::start("ceiling", &perf, &args, logs.path())?;
        tracing::info!(logs = %logs.path().display(), "stack started");

        Ok(Stack {
            ingest,
            query,
            ceiling,
            influxd,
            _logs: logs,
        })
    }

    pub fn targets(&self) -> Targets {
        Targets {
            ingest_url: self.ingest.url(),
            query_url: self.query.url(),
            ceiling_url: Some(self.ceiling.url()),
            influx_url: Some(self.influxd.url("")),
            influx_db: DATABASE.to_owned(),
            processes: vec![
                ("ingest".to_owned(), self.ingest.pid()),
                ("query".to_owned(), self.query.pid()),
                ("influxd".to_owned(), self.influxd.pid() as u32),
                ("ceiling".to_owned(), self.ceiling.pid()),
            ],
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.ingest.stop();
        self.query.stop();
        self.ceiling.stop();
    }
}

fn binary(bin_dir: &Path, name: &str) -> Result<PathBuf> {
    let path = bin_dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} does not exist; build it first with `cargo build --release --workspace --bins`, or pass --bin-dir",
        path.display()
    );
    Ok(path)
}

/// Returns the targets of a run: given URLs, or a stack started for it.
pub fn resolve(args: &TargetArgs) -> Result<(Targets, Option<Stack>)> {
    if let Some(ingest_url) = &args.ingest_url {
        let mut processes = Vec::new();
        for (role, pid) in [
            ("ingest", args.ingest_pid),
            ("query", args.query_pid),
            ("influxd", args.influx_pid),
            ("ceiling", args.ceiling_pid),
        ] {
            if let Some(pid) = pid {
                processes.push((role.to_owned(), pid));
            }
        }
        let targets = Targets {
            ingest_url: trim(ingest_url),
            query_url: trim(args.query_url.as_deref().unwrap_or(ingest_url)),
            ceiling_url: args.ceiling_url.as_deref().map(trim),
            influx_url: args.influx_url.as_deref().map(trim),
            influx_db: args.influx_db.clone(),
            processes,
        };
        return Ok((targets, None));
    }

    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => default_bin_dir()?,
    };
    let ingest_args = args.ingest_arg.clone();
    let stack = Stack::start(&bin_dir, &ingest_args)?;
    Ok((stack.targets(), Some(stack)))
}

fn trim(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Returns the directory of the perf executable, where `cargo build --release` puts ingest and
/// query.
fn default_bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the perf executable")?;
    Ok(exe
        .parent()
        .context("the perf executable has no directory")?
        .to_path_buf())
}
