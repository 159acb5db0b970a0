//! The query service: per-user and per-article counts and listings read from the store.
//!
//! The request path is routes → params → store (InfluxDB or SQLite).

pub mod cache;
pub mod config;
pub mod error;
pub mod metrics;
pub mod paging;
pub mod params;
pub mod routes;
pub mod state;
pub mod store;

use std::future::Future;

use shared::store::StoreConfig;
use tokio::net::TcpListener;

use std::sync::Arc;

use crate::cache::SummaryCache;
use crate::config::Config;
use crate::state::AppState;
use crate::store::Store;

/// Serves until `shutdown` completes and in-flight requests have finished.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if let StoreConfig::Influx(influx) = &config.store {
        shared::influx_admin::ensure_database(influx).await;
    }

    let exporter = metrics::install().map_err(|error| anyhow::anyhow!(error))?;
    let state = AppState {
        store: Store::open(&config.store, config.max_concurrent_queries)?,
        cache: SummaryCache::new(
            config.cache_ttl,
            config.cache_max_stale,
            config.cache_entries,
        ),
        exporter,
    };
    let app = routes::router(Arc::new(state), config.request_timeout);
    shared::server::serve("query", listener, app, config.server_limits(), shutdown).await;
    Ok(())
}
