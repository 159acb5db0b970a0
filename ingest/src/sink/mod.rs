//! Stores that writer threads write batches to, and how each store response is classified.

mod influx;
mod sqlite;

use std::time::Duration;

use shared::Reaction;
use shared::store::StoreConfig;

pub use influx::InfluxSink;
pub use sqlite::SqliteSink;

/// Writes batches of reactions to one store. Each writer thread owns one sink.
pub trait Sink: Send {
    /// Writes the whole batch, or reports why the store did not take it.
    fn write(&mut self, batch: &[Reaction]) -> Result<Written, SinkError>;
}

/// Result of a batch the store accepted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Reactions the store rejected point by point (an InfluxDB partial write). The others
    /// are stored.
    pub rejected: usize,
    /// The store's reason for the rejected reactions.
    pub rejection: Option<String>,
    /// Reactions whose InfluxDB point a later, different reaction of the same batch replaced.
    pub overwritten: usize,
}

/// Reason a batch was not written.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying: connection errors, timeouts, 429 and 5xx.
    #[error("store unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },

    /// The store rejects a request this large (413): split the batch.
    #[error("store rejected the batch as too large")]
    TooLarge,

    /// The store rejects our credentials (401 or 403): keep the batch and retry slowly.
    #[error("store rejected the credentials: {0}")]
    Unauthorized(String),

    /// The store will never take this batch: retrying cannot help.
    #[error("store rejected the batch: {0}")]
    Rejected(String),
}

/// Builds one sink per writer thread.
pub type SinkFactory = Box<dyn Fn() -> anyhow::Result<Box<dyn Sink>> + Send + Sync>;

/// Returns a factory for the configured store. Call it outside the async runtime: the InfluxDB
/// sink uses a blocking HTTP client.
pub fn factory(store: &StoreConfig) -> anyhow::Result<SinkFactory> {
    match store {
        StoreConfig::Influx(config) => {
            let sink = InfluxSink::new(config.clone())?;
            Ok(Box::new(
                move || Ok(Box::new(sink.clone()) as Box<dyn Sink>),
            ))
        }
        StoreConfig::Embedded { path } => {
            let path = path.clone();
            Ok(Box::new(move || {
                Ok(Box::new(SqliteSink::open(&path)?) as Box<dyn Sink>)
            }))
        }
    }
}
