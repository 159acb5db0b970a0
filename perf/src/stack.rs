//! Services a run measures: those it starts itself (InfluxDB, ingest, query and the
//! ceiling server, each on free loopback ports with temporary directories), or services that
//! are already running, given by URL.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reactions_tests::Influxd;
use tempfile::TempDir;

use crate::cli::TargetArgs;
use crate::confine::Confinement;
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

/// Options of a started stack: ingest's extra flags, and where each service runs.
#[derive(Default)]
pub struct StackOptions {
    /// Added to ingest's flags.
    pub ingest_args: Vec<String>,
    pub ingest_confinement: Option<Confinement>,
    pub query_confinement: Option<Confinement>,
    /// Whether to start the ceiling server, the baseline of `maxrps`.
    pub ceiling: bool,
}

/// Services this run started; dropping it stops them (ingest first, so that it can drain into
/// InfluxDB before InfluxDB goes), then removes their confinements.
pub struct Stack {
    pub ingest: Service,
    pub query: Service,
    pub ceiling: Option<Service>,
    pub influxd: Influxd,
    pub ingest_confinement: Option<Confinement>,
    pub query_confinement: Option<Confinement>,
    _logs: TempDir,
}

impl Stack {
    /// Starts InfluxDB, ingest, query and, when asked, the ceiling server.
    pub fn start(bin_dir: &Path, options: StackOptions) -> Result<Stack> {
        let logs = tempfile::Builder::new()
            .prefix("perf-stack-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        // NOTE: Influxd::start comes from the test harness. It panics, with influxd's log, when
        // InfluxDB does not start, and its influxd outlives a perf killed by SIGKILL or SIGTERM,
        // unlike the services started here. Such a perf also leaves its empty cgroups and this
        // temporary directory behind, since no destructor runs.
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
        args.extend(options.ingest_args.iter().cloned());
        let ingest = Service::start(
            "ingest",
            &binary(bin_dir, "ingest")?,
            &args,
            logs.path(),
            options.ingest_confinement.as_ref(),
        )?;

        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(store_args);
        let query = Service::start(
            "query",
            &binary(bin_dir, "query")?,
            &args,
            logs.path(),
            options.query_confinement.as_ref(),
        )?;

        let ceiling = if options.ceiling {
            let perf = std::env::current_exe().context("cannot find the perf executable")?;
            let args = vec![
                "ceiling".to_owned(),
                "--listen".to_owned(),
                "127.0.0.1:0".to_owned(),
            ];
            Some(Service::start("ceiling", &perf, &args, logs.path(), None)?)
        } else {
            None
        };
        tracing::info!(logs = %logs.path().display(), "stack started");

        Ok(Stack {
            ingest,
            query,
            ceiling,
            influxd,
            ingest_confinement: options.ingest_confinement,
            query_confinement: options.query_confinement,
            _logs: logs,
        })
    }

    pub fn targets(&self) -> Targets {
        let mut processes = vec![
            ("ingest".to_owned(), self.ingest.pid()),
            ("query".to_owned(), self.query.pid()),
            ("influxd".to_owned(), self.influxd.pid() as u32),
        ];
        if let Some(ceiling) = &self.ceiling {
            processes.push(("ceiling".to_owned(), ceiling.pid()));
        }
        Targets {
            ingest_url: self.ingest.url(),
            query_url: self.query.url(),
            ceiling_url: self.ceiling.as_ref().map(Service::url),
            influx_url: Some(self.influxd.url("")),
            influx_db: DATABASE.to_owned(),
            processes,
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.ingest.stop();
        self.query.stop();
        if let Some(ceiling) = &mut self.ceiling {
            ceiling.stop();
        }
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
    let options = StackOptions {
        ingest_args: args.ingest_arg.clone(),
        ceiling: true,
        ..StackOptions::default()
    };
    let stack = Stack::start(&bin_dir, options)?;
    Ok((stack.targets(), Some(stack)))
}

fn trim(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// Returns the directory of the perf executable, where `cargo build --release` puts ingest and
/// query.
pub fn default_bin_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the perf executable")?;
    Ok(exe
        .parent()
        .context("the perf executable has no directory")?
        .to_path_buf())
}
