//! The manifest: what a generated dataset contains, for the benchmark and for the record.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use shared::Timestamp;
use shared::behavior::BehaviorCounts;

use super::generate::{Spec, Tally};
use super::sink::Stored;
use super::{ARTICLE_PREFIX, USER_PREFIX, article_id, user_id};

/// Ids listed as hottest in the manifest, per kind.
pub const HOTTEST: usize = 10;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub seed: u64,
    pub reactions: u64,
    pub users: usize,
    pub articles: usize,
    pub days: u32,
    /// Start (inclusive) and end (exclusive) of the reaction times, RFC 3339.
    pub start: String,
    pub end: String,
    pub user_exponent: f64,
    pub article_exponent: f64,
    /// Ids are the prefix followed by the popularity rank, from 0.
    pub user_id_prefix: String,
    pub article_id_prefix: String,
    pub store: String,
    pub location: String,
    pub writers: usize,
    pub points_per_write: usize,
    pub load_seconds: f64,
    pub reactions_per_second: f64,
    /// Reactions generated, per behavior.
    pub behaviors: BehaviorCounts,
    /// Reactions counted in the store after the load; equal to `reactions` unless two
    /// generated reactions shared a point.
    pub stored: Stored,
    pub hottest_users: Vec<HotId>,
    pub hottest_articles: Vec<HotId>,
}

/// One of the most active users or articles, with its generated reactions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HotId {
    pub id: String,
    pub total: u64,
    pub reactions: BehaviorCounts,
}

/// How a dataset was written.
pub struct LoadRecord {
    pub store: &'static str,
    pub location: String,
    pub writers: usize,
    pub load_seconds: f64,
    pub stored: Stored,
}

impl Manifest {
    pub fn new(spec: &Spec, tally: &Tally, record: LoadRecord) -> Manifest {
        let mut behaviors = BehaviorCounts::default();
        for counts in &tally.articles {
            for behavior in shared::Behavior::ALL {
                *behaviors.get_mut(behavior) += counts.get(behavior);
            }
        }

        Manifest {
            seed: spec.seed,
            reactions: spec.reactions,
            users: spec.users,
            articles: spec.articles,
            days: spec.days,
            start: Timestamp::from_millis(spec.start_ms()).to_rfc3339(),
            end: Timestamp::from_millis(spec.end_ms).to_rfc3339(),
            user_exponent: spec.user_exponent,
            article_exponent: spec.article_exponent,
            user_id_prefix: USER_PREFIX.to_owned(),
            article_id_prefix: ARTICLE_PREFIX.to_owned(),
            store: record.store.to_owned(),
            location: record.location,
            writers: record.writers,
            points_per_write: spec.chunk_reactions * if record.store == "influxdb" { 2 } else { 1 },
            load_seconds: record.load_seconds,
            reactions_per_second: spec.reactions as f64 / record.load_seconds.max(1e-9),
            behaviors,
            stored: record.stored,
            hottest_users: hottest(&tally.users, user_id),
            hottest_articles: hottest(&tally.articles, article_id),
        }
    }

    pub fn read(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the manifest {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a dataset manifest", path.display()))
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the manifest {}", path.display()))
    }
}

/// Returns the `HOTTEST` ranks with the most reactions, most first, lower rank first on ties.
fn hottest(counts: &[BehaviorCounts], id: fn(usize) -> String) -> Vec<HotId> {
    let mut ranks: Vec<usize> = (0..counts.len()).collect();
    ranks.sort_by_key(|&rank| (std::cmp::Reverse(counts[rank].total()), rank));
    ranks
        .into_iter()
        .take(HOTTEST)
        .map(|rank| HotId {
            id: id(rank),
            total: counts[rank].total(),
            reactions: counts[rank],
        })
        .collect()
}
