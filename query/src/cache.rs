//! A short-lived cache in front of the store for summaries, with single flight: concurrent
//! identical requests share one store query, so a hot article read by a thousand clients at
//! once costs one query per TTL.
//!
//! A cached summary can be up to the TTL old, on top of ingest's flush interval. Errors are
//! never cached. The number of entries is bounded: when the map is full of fresh entries, a
//! request goes to the store directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::OnceCell;

use crate::error::QueryError;
use crate::metrics::{CACHE_HITS, CACHE_MISSES};
use crate::params::{Subject, TimeRange};
use crate::store::Summary;

/// A normalized summary request.
pub type Key = (Subject, TimeRange);

/// One key's result: empty while the first request's query runs, then the summary and when it
/// was read.
type Slot = Arc<OnceCell<(Summary, Instant)>>;

pub struct SummaryCache {
    slots: DashMap<Key, Slot>,
    ttl: Duration,
    max_entries: usize,
}

impl SummaryCache {
    /// Creates a cache of at most `max_entries` summaries kept for `ttl`; a zero TTL disables it.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        SummaryCache {
            slots: DashMap::new(),
            ttl,
            max_entries,
        }
    }

    /// Returns the cached summary for `key`, or runs `fetch` once for all concurrent callers.
    pub async fn get_or_fetch<F, Fut>(&self, key: Key, fetch: F) -> Result<Summary, QueryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Summary, QueryError>>,
    {
        if self.ttl.is_zero() {
            metrics::counter!(CACHE_MISSES).increment(1);
            return fetch().await;
        }

        let Some(slot) = self.slot(&key) else {
            metrics::counter!(CACHE_MISSES).increment(1);
            return fetch().await;
        };

        let fetched_here = AtomicBool::new(false);
        let outcome = slot
            .get_or_try_init(|| async {
                fetched_here.store(true, Ordering::Relaxed);
                fetch().await.map(|summary| (summary, Instant::now()))
            })
            .await;

        let counter = if fetched_here.load(Ordering::Relaxed) {
            CACHE_MISSES
        } else {
            CACHE_HITS
        };
        metrics::counter!(counter).increment(1);

        match outcome {
            Ok((summary, _)) => Ok(summary.clone()),
            Err(error) => {
                // Leave no failed slot behind, so the next request queries the store again.
                self.slots.remove_if(&key, |_, current| {
                    Arc::ptr_eq(current, &slot) && current.get().is_none()
                });
                Err(error)
            }
        }
    }

    /// Returns the slot for `key`, replacing an expired one, or `None` when the cache is full.
    fn slot(&self, key: &Key) -> Option<Slot> {
        if let Some(slot) = self.slots.get(key)
            && self.is_fresh(&slot)
        {
            return Some(slot.clone());
        }

        if self.slots.len() >= self.max_entries && !self.slots.contains_key(key) {
            self.slots.retain(|_, slot| self.is_fresh(slot));
            if self.slots.len() >= self.max_entries {
                return None;
            }
        }

        let mut entry = self.slots.entry(key.clone()).or_default();
        if !self.is_fresh(&entry) {
            *entry = Slot::default();
        }
        Some(entry.clone())
    }

    /// Returns true while the slot's query runs and for `ttl` after it returned.
    fn is_fresh(&self, slot: &Slot) -> bool {
        slot.get()
            .is_none_or(|(_, read_at)| read_at.elapsed() < self.ttl)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use shared::Id;

    use super::*;

    fn key(id: &str) -> Key {
        (
            Subject::Article(Id::parse(id).unwrap()),
            TimeRange::default(),
        )
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_fetch() {
        let cache = Arc::new(SummaryCache::new(Duration::from_secs(60), 100));
        let fetches = Arc::new(AtomicUsize::new(0));

        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(key("hot"), || async {
                            fetches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(Summary::default())
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache = SummaryCache::new(Duration::from_secs(60), 100);
        let failed = cache
            .get_or_fetch(key("a"), || async {
                Err(QueryError::StoreUnavailable("down".to_owned()))
            })
            .await;
        assert!(failed.is_err());
        let fetched = cache
            .get_or_fetch(key("a"), || async { Ok(Summary::default()) })
            .await;
        assert!(fetched.is_ok());
    }

    #[tokio::test]
    async fn entries_stay_bounded() {
        let cache = SummaryCache::new(Duration::from_secs(60), 3);
        for i in 0..10 {
            let id = format!("a{i}");
            assert!(
                cache
                    .get_or_fetch(key(&id), || async { Ok(Summary::default()) })
                    .await
                    .is_ok()
            );
        }
        assert!(cache.slots.len() <= 3);
    }

    #[tokio::test]
    async fn zero_ttl_always_fetches() {
        let cache = SummaryCache::new(Duration::ZERO, 3);
        let fetches = AtomicUsize::new(0);
        for _ in 0..3 {
            let _ = cache
                .get_or_fetch(key("a"), || async {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(Summary::default())
                })
                .await;
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
    }
}
