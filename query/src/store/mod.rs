//! The stores query reads from. Both answer the same questions with the same results.

mod influx;
mod sqlite;

use std::sync::Arc;

use shared::behavior::BehaviorCounts;
use shared::store::StoreConfig;
use shared::{Behavior, Timestamp};
use tokio::sync::Semaphore;

use crate::error::QueryError;
use crate::params::{ListFilter, Subject, TimeRange};

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
    pub timestamp: Timestamp,
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
        match &*self.backend {
            Backend::Influx(store) => store.summary(subject, range).await,
            Backend::Embedded(store) => store.summary(subject.clone(), range).await,
        }
    }

    pub async fn list(
        &self,
        subject: &Subject,
        filter: &ListFilter,
    ) -> Result<Vec<Row>, QueryError> {
        let _slot = self.slot().await?;
        match &*self.backend {
            Backend::Influx(store) => store.list(subject, filter).await,
            Backend::Embedded(store) => store.list(subject.clone(), filter.clone()).await,
        }
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
