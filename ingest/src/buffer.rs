//! The bounded buffer between request handlers and writer threads.
//!
//! Capacity is counted in reactions and in bytes, and a reaction holds its share of both from
//! the moment its request is accepted until a writer has stored it (or given up on it). So the
//! buffer bounds everything ingest holds in memory, including batches that writers are
//! retrying, and while the store is down the buffer fills and new requests get 503.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use shared::Reaction;

/// The longest `Retry-After` the buffer suggests.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The sending side, owned by the HTTP handlers. When it is dropped, writers see the end of
/// the channel once it is empty.
pub struct Buffer {
    sender: Sender<Vec<Reaction>>,
    gauge: std::sync::Arc<BufferGauge>,
}

/// Occupancy of the buffer, shared by handlers, writers and health checks.
pub struct BufferGauge {
    reactions: AtomicUsize,
    bytes: AtomicUsize,
    capacity_reactions: usize,
    capacity_bytes: usize,
    released_total: AtomicU64,
    drain: Mutex<DrainSample>,
}

/// The last measured drain rate and where its next measurement starts.
struct DrainSample {
    since: Instant,
    released_at_since: u64,
    per_second: f64,
}

/// Reason a request's reactions were not queued.
#[derive(Debug, PartialEq)]
pub enum PushError {
    Full {
        retry_after: Duration,
    },
    /// The request is larger than the whole buffer, so retrying cannot help.
    LargerThanBuffer,
    Closed,
}

impl Buffer {
    pub fn new(
        capacity_reactions: usize,
        capacity_bytes: usize,
    ) -> (Buffer, Receiver<Vec<Reaction>>) {
        // A bounded crossbeam channel allocates all its slots up front, so it gets one slot per
        // 512 bytes of the byte bound rather than one per reaction: 4 MiB of slots for the
        // default 64 MiB. A message holds a whole request, so slots run out only when many
        // tiny requests queue, and then requests get 503 like any other full buffer.
        let slots = (capacity_bytes / 512).clamp(1024, capacity_reactions.max(1024));
        let (sender, receiver) = crossbeam_channel::bounded(slots);
        let gauge = BufferGauge {
            reactions: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            capacity_reactions,
            capacity_bytes,
            released_total: AtomicU64::new(0),
            drain: Mutex::new(DrainSample {
                since: Instant::now(),
                released_at_since: 0,
                per_second: 0.0,
            }),
        };
        let buffer = Buffer {
            sender,
            gauge: std::sync::Arc::new(gauge),
        };
        (buffer, receiver)
    }

    pub fn gauge(&self) -> std::sync::Arc<BufferGauge> {
        self.gauge.clone()
    }

    /// Queues all of `reactions` or none of them, without blocking: the channel has a free slot
    /// whenever the reservation succeeds, and `try_send` never waits.
    pub fn try_push(&self, reactions: Vec<Reaction>) -> Result<(), PushError> {
        let count = reactions.len();
        let bytes = reactions.iter().map(Reaction::size_bytes).sum();

        if count > self.gauge.capacity_reactions || bytes > self.gauge.capacity_bytes {
            return Err(PushError::LargerThanBuffer);
        }
        if !self.gauge.reserve(count, bytes) {
            return Err(PushError::Full {
                retry_after: self.gauge.retry_after(count),
            });
        }

        match self.sender.try_send(reactions) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => {
                self.gauge.release(count, bytes);
                Err(PushError::Closed)
            }
            Err(TrySendError::Full(_)) => {
                self.gauge.release(count, bytes);
                Err(PushError::Full {
                    retry_after: self.gauge.retry_after(count),
                })
            }
        }
    }
}

impl BufferGauge {
    /// Reactions accepted and not yet stored or given up.
    pub fn depth(&self) -> usize {
        self.reactions.load(Ordering::Acquire)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> usize {
        self.capacity_reactions
    }

    pub fn capacity_bytes(&self) -> usize {
        self.capacity_bytes
    }

    /// Frees the room of reactions that a writer has stored or given up on.
    pub fn release(&self, count: usize, bytes: usize) {
        self.reactions.fetch_sub(count, Ordering::AcqRel);
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.released_total
            .fetch_add(count as u64, Ordering::Relaxed);
    }

    fn reserve(&self, count: usize, bytes: usize) -> bool {
        if !add_within(&self.reactions, count, self.capacity_reactions) {
            return false;
        }
        if !add_within(&self.bytes, bytes, self.capacity_bytes) {
            self.reactions.fetch_sub(count, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Estimates how long until `count` reactions fit, from the rate at which writers have
    /// recently been freeing room. Between 1 s and [`MAX_RETRY_AFTER`].
    pub fn retry_after(&self, count: usize) -> Duration {
        let rate = self.drain_rate();
        if rate <= 0.0 {
            return MAX_RETRY_AFTER;
        }
        let seconds = (count.max(1) as f64 / rate).ceil();
        Duration::from_secs_f64(seconds).clamp(Duration::from_secs(1), MAX_RETRY_AFTER)
    }

    /// Returns reactions freed per second, measured over windows of at least one second.
    fn drain_rate(&self) -> f64 {
        let released = self.released_total.load(Ordering::Relaxed);
        let Ok(mut sample) = self.drain.lock() else {
            return 0.0;
        };

        let elapsed = sample.since.elapsed();
        if elapsed >= Duration::from_secs(1) {
            sample.per_second =
                (released - sample.released_at_since) as f64 / elapsed.as_secs_f64();
            sample.since = Instant::now();
            sample.released_at_since = released;
        }
        sample.per_second
    }
}

/// Adds `amount` to `counter` if the sum stays within `limit`.
fn add_within(counter: &AtomicUsize, amount: usize, limit: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            current.checked_add(amount).filter(|sum| *sum <= limit)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use shared::{Behavior, Id, Timestamp};

    use super::*;

    fn reactions(count: usize) -> Vec<Reaction> {
        (0..count)
            .map(|i| {
                Reaction::with_client_time(
                    Id::parse(format!("u{i}")).unwrap(),
                    Id::parse("a").unwrap(),
                    Behavior::Like,
                    Timestamp::from_millis(1_000),
                )
            })
            .collect()
    }

    #[test]
    fn request_is_queued_whole_or_not_at_all() {
        let (buffer, receiver) = Buffer::new(10, 1 << 20);
        assert_eq!(buffer.try_push(reactions(6)), Ok(()));
        assert!(matches!(
            buffer.try_push(reactions(5)),
            Err(PushError::Full { .. })
        ));
        assert_eq!(buffer.gauge().depth(), 6);
        assert_eq!(receiver.len(), 1);
    }

    #[test]
    fn byte_limit_rejects() {
        let one = reactions(1);
        let size = one[0].size_bytes();
        let (buffer, _receiver) = Buffer::new(100, size * 2);
        assert_eq!(buffer.try_push(reactions(2)), Ok(()));
        assert!(matches!(
            buffer.try_push(reactions(1)),
            Err(PushError::Full { .. })
        ));
        assert_eq!(buffer.gauge().depth(), 2);
    }

    #[test]
    fn release_makes_room() {
        let (buffer, _receiver) = Buffer::new(4, 1 << 20);
        let batch = reactions(4);
        let bytes = batch.iter().map(Reaction::size_bytes).sum();
        buffer.try_push(batch).unwrap();
        buffer.gauge().release(4, bytes);
        assert_eq!(buffer.gauge().depth(), 0);
        assert_eq!(buffer.gauge().bytes(), 0);
        assert_eq!(buffer.try_push(reactions(4)), Ok(()));
    }

    #[test]
    fn request_larger_than_buffer_never_fits() {
        let (buffer, _receiver) = Buffer::new(4, 1 << 20);
        assert_eq!(
            buffer.try_push(reactions(5)),
            Err(PushError::LargerThanBuffer)
        );
        assert_eq!(buffer.gauge().depth(), 0);
    }

    #[test]
    fn closed_channel_is_reported() {
        let (buffer, receiver) = Buffer::new(4, 1 << 20);
        drop(receiver);
        assert_eq!(buffer.try_push(reactions(1)), Err(PushError::Closed));
        assert_eq!(buffer.gauge().depth(), 0);
    }
}
