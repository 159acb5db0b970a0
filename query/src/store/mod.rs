//! The stores query reads from. Both answer the same questions with the same results.

mod influx;
mod sqlite;

use std::sync::Arc;
use std::time::Instant;

use shared::Behavior;
use shared::behavior::BehaviorCounts;
use shared::store::StoreConfig;
use tokio::sync::Semaphore;

use crate::error::QueryError;
use crate::metrics::{STORE_ERRORS, STORE_QUERY_DURATION};
use crate::params::{Subject, TimeRange};

pub use influx::InfluxStore;
pub use sqlite::SqliteStore;

/// Counts for one user or article.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Reactions per behavior.
    pub reactions: BehaviorCounts,
    /// Distinct articles (for a user) or distinct users (for an article) per behavior.
    pub distinct: BehaviorCounts,
}

/// One listed reaction. `other_id` is the article for a user's listing and the user for an
/// article's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub other_id: String,
    pub behavior: Behavior,
    /// Store time in nanoseconds; the API shows its millisecond.
    pub time_nanos: i64,
}

/// Rows to read for a listing: the filter, an optional inclusive upper bound on the store time
/// (from a cursor), and how many rows at most, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowQuery {
    pub behavior: Option<Behavior>,
    pub range: TimeRange,
    pub until_nanos: Option<i64>,
    pub fetch: usize,
}

enum Backend {
    Influx(InfluxStore),
    Embedded(SqliteStore),
}

/// The configured store behind a limit on concurrent queries, so that a slow store makes
/// requests wait here (bounded by the request timeout) rather than piling onto the store.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    slots: Arc<Semaphore>,
}

impl Store {
    pub fn open(config: &StoreConfig, max_concurrent: usize) -> anyhow::Result<Self> {
        let backend = match config {
            StoreConfig::Influx(influx) => Backend::Influx(InfluxStore::new(influx.clone())?),
            StoreConfig::Embedded { path } => Backend::Embedded(SqliteStore::open(path)?),
        };
        Ok(Store {
            backend: Arc::new(backend),
            slots: Arc::new(Semaphore::new(max_concurrent)),
        })
    }

    pub async fn summary(
        &self,
        subject: &Subject,
        range: TimeRange,
    ) -> Result<Summary, QueryError> {
        let _slot = self.slot().await?;
        let started = Instant::now();
        let outcome = match &*self.backend {
            Backend::Influx(store) => store.summary(subject, range).await,
            Backend::Embedded(store) => store.summary(subject.clone(), range).await,
        };
        record("summary", started, &outcome);
        outcome
    }

    pub async fn list(&self, subject: &Subject, query: &RowQuery) -> Result<Vec<Row>, QueryError> {
        let _slot = self.slot().await?;
        let started = Instant::now();
        let outcome = match &*self.backend {
            Backend::Influx(store) => store.list(subject, query).await,
            Backend::Embedded(store) => store.list(subject.clone(), query.clone()).await,
        };
        record("list", started, &outcome);
        outcome
    }

    /// Returns why the store cannot answer, if it cannot.
    pub async fn check(&self) -> Result<(), String> {
        match &*self.backend {
            Backend::Influx(store) => store.ping().await,
            Backend::Embedded(_) => Ok(()),
        }
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, QueryError> {
        self.slots
            .acquire()
            .await
            .map_err(|_| QueryError::StoreUnavailable("the service is shutting down".to_owned()))
    }
}

/// Records the duration of a store query and, if it failed, the kind of failure.
fn record<T>(kind: &'static str, started: Instant, outcome: &Result<T, QueryError>) {
    metrics::histogram!(STORE_QUERY_DURATION, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    let failure = match outcome {
        Err(QueryError::StoreUnavailable(_)) => "unavailable",
        Err(QueryError::Store(_)) => "error",
        _ => return,
    };
    metrics::counter!(STORE_ERRORS, "kind" => failure).increment(1);
}
