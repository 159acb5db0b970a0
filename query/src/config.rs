//! Command-line flags and environment variables of `query`.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::Parser;
use shared::server::ServerLimits;
use shared::store::{StoreArgs, StoreConfig, humantime_duration};

/// Answers per-user and per-article questions about stored reactions.
#[derive(Parser, Clone)]
#[command(name = "query", version, args_override_self = true)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "QUERY_LISTEN", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Maximum store queries running at once; requests beyond it wait for a slot.
    #[arg(long, env = "QUERY_MAX_CONCURRENT", default_value = "32")]
    pub max_concurrent_queries: NonZeroUsize,

    /// Time limit for handling one request, including the wait for a query slot.
    #[arg(long, env = "QUERY_REQUEST_TIMEOUT", default_value = "10s", value_parser = humantime_duration)]
    pub request_timeout: Duration,

    /// How long a summary is served from the cache; 0s disables the cache.
    #[arg(long, env = "QUERY_CACHE_TTL", default_value = "1s", value_parser = humantime_duration)]
    pub cache_ttl: Duration,

    /// How long past the TTL a cached summary is still served while one background query
    /// refreshes it. With 0s, requests wait for the store once the TTL has passed.
    #[arg(long, env = "QUERY_CACHE_MAX_STALE", default_value = "10s", value_parser = humantime_duration)]
    pub cache_max_stale: Duration,

    /// Most summaries the cache holds.
    #[arg(long, env = "QUERY_CACHE_ENTRIES", default_value = "10000")]
    pub cache_entries: NonZeroUsize,

    /// Time a client has to send a request's headers.
    #[arg(long, env = "QUERY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime_duration)]
    pub header_read_timeout: Duration,

    /// Log format: text or json.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// The checked configuration `serve` runs with.
#[derive(Clone)]
pub struct Config {
    pub store: StoreConfig,
    pub max_concurrent_queries: usize,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub cache_ttl: Duration,
    pub cache_max_stale: Duration,
    pub cache_entries: usize,
}

impl Args {
    pub fn into_config(self) -> Result<Config, String> {
        Ok(Config {
            store: self.store.into_config()?,
            max_concurrent_queries: self.max_concurrent_queries.get(),
            request_timeout: self.request_timeout,
            header_read_timeout: self.header_read_timeout,
            cache_ttl: self.cache_ttl,
            cache_max_stale: self.cache_max_stale,
            cache_entries: self.cache_entries.get(),
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
