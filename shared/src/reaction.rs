//! The reaction event and the store time that makes each one a distinct point.

use std::collections::HashMap;

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
    /// Two different reactions in one series (same user or article, same behavior, same
    /// millisecond) get the same offset with probability 1 in 1,000,000 per pair.
    /// [`separate_store_times`] resolves that within a request; docs/architecture.md gives
    /// the remaining risk across requests.
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

    /// Estimates the memory this reaction occupies in the buffer, for byte limits: the struct,
    /// the two ids, and about 16 bytes of allocator overhead for each id.
    pub fn size_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.user_id.as_str().len()
            + self.article_id.as_str().len()
            + 32
    }
}

/// Moves store times apart where two different reactions of one request would share an
/// InfluxDB point: same user (or article), same behavior, same store time. Such a clash is one
/// in a million per pair, but a bulk import that gives thousands of reactions one timestamp
/// would hit it. A clashing reaction moves to the next free nanosecond of its millisecond.
///
/// The reactions are visited in an order fixed by their content, so sending the same request
/// again gives the same store times and client retries stay idempotent. Identical reactions
/// keep one store time, so the store keeps one of them.
pub fn separate_store_times(reactions: &mut [Reaction]) {
    if reactions.len() < 2 {
        return;
    }

    let mut order: Vec<usize> = (0..reactions.len()).collect();
    order.sort_by_cached_key(|&i| {
        let r = &reactions[i];
        (
            r.time_nanos(),
            r.user_id.clone(),
            r.article_id.clone(),
            r.behavior,
        )
    });

    // Point identity (id, behavior, time) to the other id of the reaction that holds it.
    let mut by_user: HashMap<(Id, Behavior, i64), Id> = HashMap::new();
    let mut by_article: HashMap<(Id, Behavior, i64), Id> = HashMap::new();

    for i in order {
        let reaction = &mut reactions[i];
        for _ in 0..NANOS_PER_MILLI {
            let time = reaction.time_nanos();
            let user_key = (reaction.user_id.clone(), reaction.behavior, time);
            let article_key = (reaction.article_id.clone(), reaction.behavior, time);
            let clashes = by_user
                .get(&user_key)
                .is_some_and(|article| *article != reaction.article_id)
                || by_article
                    .get(&article_key)
                    .is_some_and(|user| *user != reaction.user_id);

            if !clashes {
                by_user.insert(user_key, reaction.article_id.clone());
                by_article.insert(article_key, reaction.user_id.clone());
                break;
            }
            reaction.offset_nanos = (reaction.offset_nanos + 1) % NANOS_PER_MILLI as u32;
        }
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
    fn separation_keeps_every_reaction_of_a_bulk_request() {
        let at = Timestamp::from_millis(1_775_000_000_000);
        let mut reactions: Vec<Reaction> = (0..10_000)
            .map(|i| Reaction::with_client_time(id("h3"), id(&format!("a{i}")), Behavior::Like, at))
            .collect();
        let before: std::collections::HashSet<i64> =
            reactions.iter().map(Reaction::time_nanos).collect();
        assert!(
            before.len() < 10_000,
            "this request is meant to contain clashes"
        );

        separate_store_times(&mut reactions);
        let after: std::collections::HashSet<i64> =
            reactions.iter().map(Reaction::time_nanos).collect();
        assert_eq!(after.len(), 10_000);
        assert!(
            reactions
                .iter()
                .all(|r| timestamp_of_nanos(r.time_nanos()) == at)
        );
    }

    #[test]
    fn separation_is_the_same_for_a_retried_request() {
        let at = Timestamp::from_millis(1_775_000_000_000);
        let build = |reverse: bool| {
            let mut ids: Vec<usize> = (0..3000).collect();
            if reverse {
                ids.reverse();
            }
            let mut reactions: Vec<Reaction> = ids
                .iter()
                .map(|i| {
                    Reaction::with_client_time(id(&format!("u{i}")), id("hot"), Behavior::Love, at)
                })
                .collect();
            separate_store_times(&mut reactions);
            let mut times: Vec<(String, i64)> = reactions
                .iter()
                .map(|r| (r.user_id.to_string(), r.time_nanos()))
                .collect();
            times.sort();
            times
        };
        assert_eq!(build(false), build(true));
    }

    #[test]
    fn separation_keeps_duplicates_together() {
        let at = Timestamp::from_millis(1_775_000_000_000);
        let one = Reaction::with_client_time(id("u"), id("a"), Behavior::Like, at);
        let mut reactions = vec![one.clone(), one.clone()];
        separate_store_times(&mut reactions);
        assert_eq!(reactions[0].time_nanos(), reactions[1].time_nanos());
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
