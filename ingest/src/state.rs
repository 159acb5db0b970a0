//! State shared by the request handlers.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use shared::store::StoreConfig;
use shared::timestamp::TimeWindow;

use crate::buffer::{Buffer, BufferGauge};
use crate::health::Health;

/// Per-request limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_request_reactions: usize,
    pub time_window: TimeWindow,
}

/// Memory budget, in KiB, for request bodies being read and parsed at once.
pub struct BodyBudget {
    permits: tokio::sync::Semaphore,
    total_kib: u32,
}

/// Estimated peak memory of a parsed body per byte of JSON: the body itself plus the
/// `serde_json::Value` tree, whose maps and strings take several times the text.
const PARSE_EXPANSION: usize = 8;

impl BodyBudget {
    pub fn new(bytes: usize) -> Self {
        let total_kib = (bytes / 1024).clamp(
            1,
            tokio::sync::Semaphore::MAX_PERMITS.min(u32::MAX as usize),
        ) as u32;
        BodyBudget {
            permits: tokio::sync::Semaphore::new(total_kib as usize),
            total_kib,
        }
    }

    /// Reserves memory for a body of at most `body_bytes`, or returns `None` when the budget is
    /// spent. A body larger than the whole budget may still run alone.
    pub fn try_reserve(&self, body_bytes: usize) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let kib = (body_bytes.saturating_mul(PARSE_EXPANSION) / 1024)
            .clamp(1, self.total_kib as usize) as u32;
        self.permits.try_acquire_many(kib).ok()
    }
}

pub struct AppState {
    pub body_budget: BodyBudget,
    /// The only sender into the writers' channel; dropping the state closes it.
    pub buffer: Buffer,
    pub gauge: Arc<BufferGauge>,
    pub health: Arc<Health>,
    pub limits: Limits,
    pub probe: StoreProbe,
    /// Reactions accepted with 202 since start.
    pub accepted: Arc<AtomicU64>,
    pub exporter: shared::metrics::Exporter,
    /// Source of the sequence numbers that keep server-stamped reactions apart. It starts at a
    /// random value so that replicas are unlikely to share numbers.
    pub sequence: AtomicU64,
}

/// Checks that the store answers, for readiness.
pub enum StoreProbe {
    Influx {
        client: reqwest::Client,
        url: reqwest::Url,
    },
    Embedded,
}

/// Time limit of one readiness probe of the store.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl StoreProbe {
    pub fn new(store: &StoreConfig) -> anyhow::Result<Self> {
        match store {
            StoreConfig::Influx(influx) => Ok(StoreProbe::Influx {
                client: reqwest::Client::builder().timeout(PROBE_TIMEOUT).build()?,
                url: influx.ping_url(),
            }),
            StoreConfig::Embedded { .. } => Ok(StoreProbe::Embedded),
        }
    }

    /// Returns the reason the store is not reachable, if it is not.
    pub async fn check(&self) -> Result<(), String> {
        match self {
            StoreProbe::Embedded => Ok(()),
            StoreProbe::Influx { client, url } => match client.get(url.clone()).send().await {
                Ok(response) if response.status().is_success() => Ok(()),
                Ok(response) => Err(format!("InfluxDB ping returned {}", response.status())),
                Err(error) => Err(format!("InfluxDB is unreachable: {error}")),
            },
        }
    }
}
