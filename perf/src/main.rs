//! `perf`: load, max-RPS, capacity and soak tests of ingest and query, with the ceiling server
//! as the HTTP baseline.

mod capacity;
mod ceiling;
mod cli;
mod confine;
mod ids;
mod load;
mod machine;
mod maxrps;
mod metrics;
mod plan;
mod procfs;
mod read_mix;
mod recorder;
mod scenarios;
mod service;
mod soak;
mod stack;
mod store;
mod svg;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();

    let result = match cli.command {
        Command::Maxrps(args) => maxrps::run(args).map(|()| true),
        Command::Soak(args) => soak::run(args),
        Command::Ceiling(args) => ceiling::run(args).map(|()| true),
        Command::Capacity(args) => capacity::run(args).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // A soak gate failed, and the report names it.
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "perf failed");
            ExitCode::from(2)
        }
    }
}

/// Logs to stderr, as text or, with `LOG_FORMAT=json`, as JSON lines. Goose logs through the
/// `log` crate at info level per user; its warnings are enough here.
fn init_logs() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,goose=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
