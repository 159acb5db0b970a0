//! The ingest service: HTTP requests in, validated reactions through a bounded buffer, batched
//! writes to the store out.
//!
//! The request path is routes → decode → validate (in `shared`) → buffer. Writer threads take
//! over from there: writer → sink (InfluxDB or SQLite).

pub mod buffer;
pub mod config;
pub mod decode;
pub mod error;
pub mod health;
pub mod metrics;
pub mod routes;
pub mod sink;
pub mod state;
pub mod writer;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use shared::store::StoreConfig;
use tokio::net::TcpListener;

use crate::buffer::Buffer;
use crate::config::Config;
use crate::health::Health;
use crate::state::{AppState, Limits, StoreProbe};
use crate::writer::{
    DrainDeadline, RetryPolicy, WriterContext, WriterPool, WriterSettings, WriterStats,
};

/// Totals at exit, for the last log line and the exit code.
#[derive(Debug)]
pub struct DrainReport {
    pub accepted: u64,
    pub written: u64,
    pub dropped: u64,
    pub abandoned: u64,
}

/// Serves until `shutdown` completes, then stops taking requests, drains the buffer into the
/// store and returns what happened to every accepted reaction.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<DrainReport> {
    let exporter = metrics::install().map_err(|error| anyhow::anyhow!(error))?;
    let (buffer, receiver) = Buffer::new(config.buffer_reactions, config.buffer_bytes);
    let gauge = buffer.gauge();
    let health = Arc::new(Health::default());
    let stats = Arc::new(WriterStats::default());
    let deadline = Arc::new(DrainDeadline::default());

    if let StoreConfig::Influx(influx) = &config.store {
        shared::influx_admin::ensure_database(influx).await;
    }

    let context = WriterContext {
        settings: WriterSettings {
            batch_size: config.batch_size,
            flush_interval: config.flush_interval,
            retry: RetryPolicy::default(),
        },
        gauge: gauge.clone(),
        health: health.clone(),
        stats: stats.clone(),
        deadline: deadline.clone(),
        drop_log: Arc::default(),
    };
    let pool = start_writers(&config, receiver, context)?;

    let accepted = Arc::new(AtomicU64::new(0));
    let state = Arc::new(AppState {
        body_budget: state::BodyBudget::new(config.max_inflight_bytes),
        buffer,
        gauge: gauge.clone(),
        health: health.clone(),
        limits: Limits {
            max_body_bytes: config.max_body_bytes,
            max_request_reactions: config.max_request_reactions,
            time_window: config.time_window,
        },
        probe: StoreProbe::new(&config.store)?,
        accepted: accepted.clone(),
        exporter,
        sequence: AtomicU64::new(fastrand::u64(..)),
    });
    let app = routes::router(state, config.request_timeout);

    let grace = config.shutdown_grace;
    let stopping = health.clone();
    let begin_shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutdown requested; readiness is now 503"
        );
        tokio::time::sleep(grace).await;
    };
    shared::server::serve(
        "ingest",
        listener,
        app,
        config.server_limits(),
        begin_shutdown,
    )
    .await;

    // The server and every handler are gone, so the channel's last sender is dropped and the
    // writers stop once they have written what is queued.
    tracing::info!(
        queued = gauge.depth(),
        "listener closed; draining the buffer"
    );
    deadline.start(config.drain_timeout);
    tokio::task::spawn_blocking(move || pool.join()).await?;

    let report = DrainReport {
        accepted: accepted.load(Ordering::Relaxed),
        written: stats.written.load(Ordering::Relaxed),
        dropped: stats.dropped.load(Ordering::Relaxed),
        abandoned: stats.abandoned.load(Ordering::Relaxed),
    };
    Ok(report)
}

/// Starts the writer threads. Sinks are built on a plain thread because the InfluxDB sink's
/// blocking HTTP client must not be created or dropped inside the async runtime.
fn start_writers(
    config: &Config,
    receiver: crossbeam_channel::Receiver<Vec<shared::Reaction>>,
    context: WriterContext,
) -> anyhow::Result<WriterPool> {
    let store = config.store.clone();
    let writers = config.writers;
    std::thread::spawn(move || {
        let factory = sink::factory(&store)?;
        WriterPool::spawn(writers, receiver, &factory, context)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("starting the writers panicked"))?
}
