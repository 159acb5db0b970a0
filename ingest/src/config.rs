//! Command-line flags and environment variables of `ingest`, parsed once into checked types.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::Parser;
use shared::server::ServerLimits;
use shared::store::{StoreArgs, StoreConfig, humantime_duration};
use shared::timestamp::TimeWindow;

/// Accepts reactions over HTTP and writes them to InfluxDB or the embedded store.
#[derive(Parser, Clone)]
#[command(name = "ingest", version, args_override_self = true)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "INGEST_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Maximum reactions waiting in memory to be written; past it requests get 503.
    #[arg(long, env = "INGEST_BUFFER_REACTIONS", default_value = "100000")]
    pub buffer_reactions: NonZeroUsize,

    /// Maximum bytes of reactions waiting in memory to be written; past it requests get 503.
    /// Default: a quarter of the cgroup memory limit when there is one, else 64 MiB.
    #[arg(long, env = "INGEST_BUFFER_BYTES")]
    pub buffer_bytes: Option<NonZeroUsize>,

    /// Maximum memory for request bodies being read and parsed at once, estimated at eight
    /// times the body size; requests beyond it get 503. Default: a quarter of the cgroup
    /// memory limit when there is one, else 128 MiB.
    #[arg(long, env = "INGEST_MAX_INFLIGHT_BYTES")]
    pub max_inflight_bytes: Option<NonZeroUsize>,

    /// Reactions per store write; a batch is written as soon as it is this large.
    #[arg(long, env = "INGEST_BATCH_SIZE", default_value = "5000")]
    pub batch_size: NonZeroUsize,

    /// Longest time a reaction waits for its batch to fill before the batch is written anyway.
    #[arg(long, env = "INGEST_FLUSH_INTERVAL", default_value = "200ms", value_parser = humantime_duration)]
    pub flush_interval: Duration,

    /// Writer threads, each writing one batch at a time.
    #[arg(long, env = "INGEST_WRITERS", default_value = "2")]
    pub writers: NonZeroUsize,

    /// Maximum request body in bytes, after decompression too.
    #[arg(long, env = "INGEST_MAX_BODY_BYTES", default_value = "1048576")]
    pub max_body_bytes: NonZeroUsize,

    /// Maximum reactions in one request.
    #[arg(long, env = "INGEST_MAX_REQUEST_REACTIONS", default_value = "10000")]
    pub max_request_reactions: NonZeroUsize,

    /// How far ahead of the server clock a client timestamp may be.
    #[arg(long, env = "INGEST_MAX_FUTURE", default_value = "10m", value_parser = humantime_duration)]
    pub max_future: Duration,

    /// Time limit for reading and handling one request.
    #[arg(long, env = "INGEST_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime_duration)]
    pub request_timeout: Duration,

    /// Time a client has to send a request's headers.
    #[arg(long, env = "INGEST_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime_duration)]
    pub header_read_timeout: Duration,

    /// After SIGTERM, how long readiness reports 503 before the listener closes, so that load
    /// balancers stop sending new requests first.
    #[arg(long, env = "INGEST_SHUTDOWN_GRACE", default_value = "1s", value_parser = humantime_duration)]
    pub shutdown_grace: Duration,

    /// After the listener closes, how long writers keep retrying queued reactions before the
    /// process gives up on them and exits non-zero.
    #[arg(long, env = "INGEST_DRAIN_TIMEOUT", default_value = "30s", value_parser = humantime_duration)]
    pub drain_timeout: Duration,

    /// Log format: text or json.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// The checked configuration `serve` runs with.
#[derive(Clone)]
pub struct Config {
    pub store: StoreConfig,
    pub buffer_reactions: usize,
    pub buffer_bytes: usize,
    pub max_inflight_bytes: usize,
    /// The cgroup memory limit the defaults were derived from, if any.
    pub memory_limit: Option<u64>,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub writers: usize,
    pub max_body_bytes: usize,
    pub max_request_reactions: usize,
    pub time_window: TimeWindow,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub drain_timeout: Duration,
}

impl Args {
    pub fn into_config(self) -> Result<Config, String> {
        let memory_limit = shared::cgroup::memory_limit();
        let time_window = TimeWindow {
            max_ahead: self.max_future,
            ..TimeWindow::default()
        };

        Ok(Config {
            store: self.store.into_config()?,
            buffer_reactions: self.buffer_reactions.get(),
            buffer_bytes: self
                .buffer_bytes
                .map_or(memory_share(memory_limit, 64 << 20), NonZeroUsize::get),
            max_inflight_bytes: self
                .max_inflight_bytes
                .map_or(memory_share(memory_limit, 128 << 20), NonZeroUsize::get),
            memory_limit,
            batch_size: self.batch_size.get(),
            flush_interval: self.flush_interval,
            writers: self.writers.get(),
            max_body_bytes: self.max_body_bytes.get(),
            max_request_reactions: self.max_request_reactions.get(),
            time_window,
            request_timeout: self.request_timeout,
            header_read_timeout: self.header_read_timeout,
            shutdown_grace: self.shutdown_grace,
            drain_timeout: self.drain_timeout,
        })
    }
}

impl Config {
    /// Returns the server's limits. Open connections get as long to finish after shutdown as
    /// a request may take, plus the time to read its headers.
    pub fn server_limits(&self) -> ServerLimits {
        ServerLimits {
            header_read_timeout: self.header_read_timeout,
            shutdown_timeout: self.request_timeout + self.header_read_timeout,
        }
    }
}

/// Returns a quarter of the memory limit, or `fallback` without one. Buffered reactions and
/// request bodies being parsed each get a quarter, which leaves half for the runtime,
/// connections, batches being encoded and the allocator's slack.
fn memory_share(limit: Option<u64>, fallback: usize) -> usize {
    match limit {
        Some(limit) => (limit / 4).max(1 << 20) as usize,
        None => fallback,
    }
}
