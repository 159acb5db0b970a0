//! The reaction event and the store time that makes each one a distinct point.

use xxhash_rust::xxh3::xxh3_64;

use crate::{Behavior, Id, Timestamp};

/// Nanoseconds in one millisecond: the number of distinct store times inside one API timestamp.
pub const NANOS_PER_MILLI: i64 = 1_000_000;

/// One validated reaction, ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaction {
    pub user_id: Id,
    pub article_id: Id,
    pub behavior: Behavior,
    pub timestamp: Timestamp,
    /// Nanoseconds (below one millisecond) added to `timestamp` to form the store time.
    pub offset_nanos: u32,
}

impl Reaction {
    /// Builds a reaction whose time the client chose. Its store time depends only on the
    /// reaction's content, so a client that retries the same reaction writes the same point
    /// again and the store keeps one.
    ///
    /// NOTE: two different reactions in one series (same user or article, same behavior, same
    /// millisecond) get the same offset with probability 1 in 1,000,000 per pair, and the
    /// later one then replaces the earlier in InfluxDB. See docs/architecture.md.
    pub fn with_client_time(
        user_id: Id,
        article_id: Id,
        behavior: Behavior,
        timestamp: Timestamp,
    ) -> Self {
        let offset_nanos =
            (identity_hash(&user_id, &article_id, behavior) % NANOS_PER_MILLI as u64) as u32;
        Reaction {
            user_id,
            article_id,
            behavior,
            timestamp,
            offset_nanos,
        }
    }

    /// Builds a reaction stamped with the server's receive time. `sequence` comes from a
    /// per-process counter, so one process never gives two reactions of the same millisecond
    /// the same store time, even identical ones: without a client timestamp every request is
    /// a new event.
    pub fn with_server_time(
        user_id: Id,
        article_id: Id,
        behavior: Behavior,
        received: Timestamp,
        sequence: u64,
    ) -> Self {
        Reaction {
            user_id,
            article_id,
            behavior,
            timestamp: received,
            offset_nanos: (sequence % NANOS_PER_MILLI as u64) as u32,
        }
    }

    /// Returns the store time in nanoseconds since the epoch. The time window that validation
    /// enforces keeps this far from overflow.
    pub fn time_nanos(&self) -> i64 {
        self.timestamp.as_millis() * NANOS_PER_MILLI + i64::from(self.offset_nanos)
    }

    /// Approximate memory this reaction occupies in the buffer, for byte limits.
    pub fn size_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.user_id.as_str().len() + self.article_id.as_str().len()
    }
}

/// Returns the API timestamp of a store time.
pub fn timestamp_of_nanos(nanos: i64) -> Timestamp {
    Timestamp::from_millis(nanos.div_euclid(NANOS_PER_MILLI))
}

/// Hashes what identifies a reaction apart from its time. Ids contain no control characters,
/// so the NUL separator keeps ("a", "bc") and ("ab", "c") apart. XXH3 is a fixed algorithm,
/// so every replica and version computes the same value.
fn identity_hash(user_id: &Id, article_id: &Id, behavior: Behavior) -> u64 {
    let mut key = Vec::with_capacity(user_id.as_str().len() + article_id.as_str().len() + 8);
    key.extend_from_slice(user_id.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(article_id.as_str().as_bytes());
    key.push(0);
    key.extend_from_slice(behavior.as_str().as_bytes());
    xxh3_64(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: &str) -> Id {
        Id::parse(value).unwrap()
    }

    #[test]
    fn client_time_is_deterministic() {
        let at = Timestamp::from_millis(1_767_225_600_123);
        let first = Reaction::with_client_time(id("u"), id("a"), Behavior::Like, at);
        let again = Reaction::with_client_time(id("u"), id("a"), Behavior::Like, at);
        assert_eq!(first.time_nanos(), again.time_nanos());
        assert_eq!(timestamp_of_nanos(first.time_nanos()), at);
    }

    #[test]
    fn different_reactions_get_different_times() {
        let at = Timestamp::from_millis(1_767_225_600_123);
        let one = Reaction::with_client_time(id("u1"), id("a"), Behavior::Like, at);
        let two = Reaction::with_client_time(id("u2"), id("a"), Behavior::Like, at);
        assert_ne!(one.time_nanos(), two.time_nanos());
    }

    #[test]
    fn server_time_separates_identical_reactions() {
        let at = Timestamp::from_millis(1_767_225_600_123);
        let times: std::collections::HashSet<i64> = (0..50)
            .map(|sequence| {
                Reaction::with_server_time(id("u"), id("a"), Behavior::Cry, at, sequence)
                    .time_nanos()
            })
            .collect();
        assert_eq!(times.len(), 50);
    }
}
