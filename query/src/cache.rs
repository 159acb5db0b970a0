//! A short-lived cache in front of the store for summaries, with single flight: concurrent
//! identical requests share one store query, so a hot article read by a thousand clients at
//! once costs one query per TTL.
//!
//! An entry is fresh for the TTL. After that it is stale: the first request to see it starts
//! one refresh in a background task, and every request, that one included, gets the stale
//! summary until the refresh replaces it. So once an entry is filled, readers wait on the store
//! for it only when no refresh has succeeded within the maximum staleness. An entry older than
//! the TTL plus the maximum staleness is not served, and requests wait for a new store query as
//! on the first fill. A cached summary is therefore up to the TTL plus one refresh old, and at
//! most the TTL plus the maximum staleness, on top of ingest's flush interval.
//!
//! Errors are never cached: a failed first fill leaves no entry, and a failed refresh leaves
//! the stale entry for the next request to refresh again. The number of entries is bounded:
//! when the map is full of entries that are fresh or being filled or refreshed, a request goes
//! to the store directly.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::error::QueryError;
use crate::metrics::{CACHE_HITS, CACHE_MISSES, CACHE_REFRESHES};
use crate::params::{Subject, TimeRange};
use crate::store::Summary;

/// A normalized summary request.
pub type Key = (Subject, TimeRange);

/// One key's entry.
#[derive(Default)]
struct Slot {
    /// The summary and the time the store returned it, empty while the first query runs.
    read: OnceCell<(Summary, Instant)>,
    /// Set while a background refresh for this slot runs, so that only one starts.
    refreshing: AtomicBool,
}

impl Slot {
    fn filled(summary: Summary) -> Self {
        Slot {
            read: OnceCell::new_with(Some((summary, Instant::now()))),
            refreshing: AtomicBool::new(false),
        }
    }
}

/// A slot's state at the moment it is read, which decides whether it is served.
enum State<'a> {
    /// The first query runs, and requests wait for it.
    Filling,
    /// Younger than the TTL.
    Fresh(&'a Summary),
    /// Past the TTL but within the maximum staleness: served while a refresh runs.
    Stale(&'a Summary),
    /// Too old to serve, so the next request replaces the slot and waits for a new query.
    Expired,
}

/// The source of a request's summary, chosen by `lookup`.
enum Lookup {
    Fresh(Summary),
    /// Serve the summary, and refresh the slot unless a refresh already runs.
    Stale(Summary, Arc<Slot>),
    /// Wait for the slot's query, or run it.
    Fill(Arc<Slot>),
    /// The cache is full of entries it keeps (see `is_kept`): query the store directly.
    Full,
}

pub struct SummaryCache {
    /// Shared with the refresh tasks, which replace a stale slot when their query returns.
    slots: Arc<DashMap<Key, Arc<Slot>>>,
    ttl: Duration,
    /// The TTL plus the maximum staleness: the age past which a slot is not served.
    max_age: Duration,
    max_entries: usize,
}

impl SummaryCache {
    /// Creates a cache of at most `max_entries` summaries that are fresh for `ttl` and served
    /// stale, while a refresh runs, for up to `max_stale` more. A zero TTL disables the cache,
    /// and a zero `max_stale` makes requests wait for the store once an entry is past the TTL.
    pub fn new(ttl: Duration, max_stale: Duration, max_entries: usize) -> Self {
        SummaryCache {
            slots: Arc::default(),
            ttl,
            max_age: ttl.saturating_add(max_stale),
            max_entries,
        }
    }

    /// Returns the cached summary for `key`, or runs `fetch` once for all concurrent callers.
    /// For a stale entry, `fetch` runs in a background task and the caller gets the entry.
    pub async fn get_or_fetch<F, Fut>(&self, key: Key, fetch: F) -> Result<Summary, QueryError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Summary, QueryError>> + Send + 'static,
    {
        if self.ttl.is_zero() {
            metrics::counter!(CACHE_MISSES).increment(1);
            return fetch().await;
        }

        match self.lookup(&key) {
            Lookup::Fresh(summary) => {
                metrics::counter!(CACHE_HITS).increment(1);
                Ok(summary)
            }
            Lookup::Stale(summary, slot) => {
                metrics::counter!(CACHE_HITS).increment(1);
                self.refresh(key, slot, fetch);
                Ok(summary)
            }
            Lookup::Fill(slot) => self.fill(&key, slot, fetch).await,
            Lookup::Full => {
                metrics::counter!(CACHE_MISSES).increment(1);
                fetch().await
            }
        }
    }

    fn lookup(&self, key: &Key) -> Lookup {
        if let Some(slot) = self.slots.get(key) {
            match self.state(&slot) {
                State::Fresh(summary) => return Lookup::Fresh(summary.clone()),
                State::Stale(summary) => return Lookup::Stale(summary.clone(), slot.clone()),
                State::Filling => return Lookup::Fill(slot.clone()),
                State::Expired => {}
            }
        }

        match self.slot_to_fill(key) {
            Some(slot) => Lookup::Fill(slot),
            None => Lookup::Full,
        }
    }

    /// Returns the slot for `key`, replacing an expired one, or `None` when the cache is full.
    fn slot_to_fill(&self, key: &Key) -> Option<Arc<Slot>> {
        if self.slots.len() >= self.max_entries && !self.slots.contains_key(key) {
            self.slots.retain(|_, slot| self.is_kept(slot));
            if self.slots.len() >= self.max_entries {
                return None;
            }
        }

        // Another request may have replaced or refreshed the slot since `lookup` read it. `fill`
        // then returns that slot's summary at once, without a query.
        let mut entry = self.slots.entry(key.clone()).or_default();
        if matches!(self.state(&entry), State::Expired) {
            *entry = Arc::default();
        }
        Some(entry.clone())
    }

    /// Waits for the slot's query, or runs `fetch` if none runs, and removes the slot if the
    /// query fails.
    async fn fill<F, Fut>(
        &self,
        key: &Key,
        slot: Arc<Slot>,
        fetch: F,
    ) -> Result<Summary, QueryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Summary, QueryError>>,
    {
        let fetched_here = AtomicBool::new(false);
        let outcome = slot
            .read
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
                self.slots.remove_if(key, |_, current| {
                    Arc::ptr_eq(current, &slot) && current.read.get().is_none()
                });
                Err(error)
            }
        }
    }

    /// Starts a background task that runs `fetch` and replaces the stale slot with its
    /// summary, unless a refresh of that slot already runs.
    ///
    /// The task is detached so that it finishes even if the request that started it is
    /// dropped. It only reads the store, so cancelling it at shutdown loses nothing.
    fn refresh<F, Fut>(&self, key: Key, stale: Arc<Slot>, fetch: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Summary, QueryError>> + Send + 'static,
    {
        if stale.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        metrics::counter!(CACHE_REFRESHES).increment(1);

        let slots = self.slots.clone();
        tokio::spawn(async move {
            match fetch().await {
                Ok(summary) => {
                    // A slot that expired or was evicted meanwhile is no longer the entry,
                    // and the summary is dropped rather than put back.
                    if let Some(mut current) = slots.get_mut(&key)
                        && Arc::ptr_eq(&current, &stale)
                    {
                        *current = Arc::new(Slot::filled(summary));
                    }
                }
                Err(error) => {
                    // Store::summary has counted the failure in query_store_errors_total.
                    tracing::warn!(
                        subject = ?key.0,
                        error = %error,
                        "summary refresh failed; the stale summary is served until a later refresh succeeds or it expires"
                    );
                    stale.refreshing.store(false, Ordering::Release);
                }
            }
        });
    }

    fn state<'a>(&self, slot: &'a Slot) -> State<'a> {
        let Some((summary, read_at)) = slot.read.get() else {
            return State::Filling;
        };
        let age = read_at.elapsed();
        if age < self.ttl {
            State::Fresh(summary)
        } else if age < self.max_age {
            State::Stale(summary)
        } else {
            State::Expired
        }
    }

    /// Returns true for the slots a full cache keeps: those being filled, fresh or refreshed.
    fn is_kept(&self, slot: &Slot) -> bool {
        match self.state(slot) {
            State::Filling | State::Fresh(_) => true,
            State::Stale(_) => slot.refreshing.load(Ordering::Acquire),
            State::Expired => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::atomic::AtomicUsize;

    use shared::Id;
    use shared::behavior::BehaviorCounts;

    use super::*;

    const TTL: Duration = Duration::from_secs(10);
    const MAX_STALE: Duration = Duration::from_secs(20);

    type Fetched = Pin<Box<dyn Future<Output = Result<Summary, QueryError>> + Send>>;

    fn key(id: &str) -> Key {
        (
            Subject::Article(Id::parse(id).unwrap()),
            TimeRange::default(),
        )
    }

    /// A summary identified by its number of likes.
    fn likes(count: u64) -> Summary {
        Summary {
            reactions: BehaviorCounts {
                like: count,
                ..BehaviorCounts::default()
            },
            ..Summary::default()
        }
    }

    /// A stand-in for the store that counts its queries.
    #[derive(Clone, Default)]
    struct FakeStore {
        queries: Arc<AtomicUsize>,
    }

    impl FakeStore {
        /// Returns a fetch that takes `delay`, then returns `likes(count)`, or fails for `None`.
        fn fetch(
            &self,
            delay: Duration,
            count: Option<u64>,
        ) -> impl FnOnce() -> Fetched + Send + use<> {
            let queries = self.queries.clone();
            move || {
                Box::pin(async move {
                    queries.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    count
                        .map(likes)
                        .ok_or_else(|| QueryError::StoreUnavailable("down".to_owned()))
                })
            }
        }

        fn queries(&self) -> usize {
            self.queries.load(Ordering::SeqCst)
        }
    }

    /// Reads `key` through the cache with a fetch of `store` that returns `count` at once.
    async fn read(
        cache: &SummaryCache,
        store: &FakeStore,
        id: &str,
        count: Option<u64>,
    ) -> Result<Summary, QueryError> {
        cache
            .get_or_fetch(key(id), store.fetch(Duration::ZERO, count))
            .await
    }

    /// Returns a cache whose entry "a" contains `likes(1)`, read from the store just now.
    async fn cache_with_entry(max_stale: Duration) -> (SummaryCache, FakeStore) {
        let cache = SummaryCache::new(TTL, max_stale, 100);
        let store = FakeStore::default();
        assert_eq!(read(&cache, &store, "a", Some(1)).await.unwrap(), likes(1));
        (cache, store)
    }

    /// Lets spawned refresh tasks that do not sleep run to completion.
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_fetch() {
        let cache = Arc::new(SummaryCache::new(Duration::from_secs(60), MAX_STALE, 100));
        let fetches = Arc::new(AtomicUsize::new(0));

        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_fetch(key("hot"), || async move {
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
        let cache = SummaryCache::new(Duration::from_secs(60), MAX_STALE, 100);
        let store = FakeStore::default();

        assert!(read(&cache, &store, "a", None).await.is_err());
        assert_eq!(read(&cache, &store, "a", Some(1)).await.unwrap(), likes(1));
        assert_eq!(store.queries(), 2);
    }

    #[tokio::test]
    async fn entries_stay_bounded() {
        let cache = SummaryCache::new(Duration::from_secs(60), MAX_STALE, 3);
        let store = FakeStore::default();
        for i in 0..10 {
            let id = format!("a{i}");
            assert!(read(&cache, &store, &id, Some(i)).await.is_ok());
        }
        assert!(cache.slots.len() <= 3);
    }

    #[tokio::test]
    async fn zero_ttl_always_fetches() {
        let cache = SummaryCache::new(Duration::ZERO, MAX_STALE, 3);
        let store = FakeStore::default();
        for _ in 0..3 {
            assert_eq!(read(&cache, &store, "a", Some(1)).await.unwrap(), likes(1));
        }
        assert_eq!(store.queries(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_entry_is_served_without_fetch() {
        let (cache, store) = cache_with_entry(MAX_STALE).await;

        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        assert_eq!(read(&cache, &store, "a", Some(2)).await.unwrap(), likes(1));
        assert_eq!(store.queries(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_entry_is_served_during_one_refresh() {
        let (cache, store) = cache_with_entry(MAX_STALE).await;
        let cache = Arc::new(cache);
        tokio::time::advance(TTL).await;

        // The refresh takes 5 s; no caller waits for it.
        let refresh_time = Duration::from_secs(5);
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let cache = cache.clone();
                let fetch = store.fetch(refresh_time, Some(2));
                tokio::spawn(async move { cache.get_or_fetch(key("a"), fetch).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), likes(1));
        }
        assert_eq!(
            store.queries(),
            2,
            "one fill and one refresh for 100 callers"
        );

        tokio::time::advance(refresh_time - Duration::from_millis(1)).await;
        assert_eq!(read(&cache, &store, "a", Some(3)).await.unwrap(), likes(1));
        assert_eq!(store.queries(), 2, "no second refresh while one runs");
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_value_is_served_after_refresh() {
        let (cache, store) = cache_with_entry(MAX_STALE).await;
        tokio::time::advance(TTL).await;

        assert_eq!(read(&cache, &store, "a", Some(2)).await.unwrap(), likes(1));
        settle().await;
        assert_eq!(read(&cache, &store, "a", Some(3)).await.unwrap(), likes(2));
        assert_eq!(store.queries(), 2);

        // The refreshed entry is fresh for a whole TTL from the refresh.
        tokio::time::advance(TTL - Duration::from_millis(2)).await;
        assert_eq!(read(&cache, &store, "a", Some(4)).await.unwrap(), likes(2));
        assert_eq!(store.queries(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_serves_stale_until_max_stale() {
        let (cache, store) = cache_with_entry(MAX_STALE).await;
        tokio::time::advance(TTL).await;

        assert_eq!(read(&cache, &store, "a", None).await.unwrap(), likes(1));
        settle().await;
        assert_eq!(store.queries(), 2, "the first stale read starts a refresh");

        // The failed refresh left the entry in place, and the next read retries it.
        assert_eq!(read(&cache, &store, "a", None).await.unwrap(), likes(1));
        settle().await;
        assert_eq!(store.queries(), 3, "a later stale read retries the refresh");

        // Past the TTL plus the maximum staleness, the read waits for the store and fails.
        tokio::time::advance(MAX_STALE).await;
        assert!(read(&cache, &store, "a", None).await.is_err());
        assert_eq!(store.queries(), 4);

        assert_eq!(read(&cache, &store, "a", Some(5)).await.unwrap(), likes(5));
        assert_eq!(store.queries(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entry_waits_for_one_fetch() {
        let (cache, store) = cache_with_entry(MAX_STALE).await;
        let cache = Arc::new(cache);
        tokio::time::advance(TTL + MAX_STALE).await;

        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let cache = cache.clone();
                let fetch = store.fetch(Duration::from_secs(1), Some(2));
                tokio::spawn(async move { cache.get_or_fetch(key("a"), fetch).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), likes(2));
        }
        assert_eq!(store.queries(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_max_stale_waits_after_ttl() {
        let (cache, store) = cache_with_entry(Duration::ZERO).await;
        tokio::time::advance(TTL).await;

        assert_eq!(read(&cache, &store, "a", Some(2)).await.unwrap(), likes(2));
        assert_eq!(store.queries(), 2);

        tokio::time::advance(TTL).await;
        assert!(read(&cache, &store, "a", None).await.is_err());
        assert_eq!(store.queries(), 3);
    }
}
