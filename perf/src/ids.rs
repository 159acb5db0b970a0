//! Skewed user and article ids: a few hot articles and heavy users draw most reactions, as
//! on a real news site.

use crate::read_mix::{Read, ReadMix};

/// Zipf distribution over ranks 1..=n: rank k has weight 1 / k^exponent.
#[derive(Clone, Debug)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        let mut cumulative = Vec::with_capacity(n.max(1));
        for rank in 1..=n.max(1) {
            total += 1.0 / (rank as f64).powf(exponent);
            cumulative.push(total);
        }
        for value in &mut cumulative {
            *value /= total;
        }
        Zipf { cumulative }
    }

    /// Draws a rank from 1 to n.
    pub fn sample(&self) -> usize {
        let u = fastrand::f64();
        self.cumulative
            .partition_point(|&c| c < u)
            .min(self.cumulative.len() - 1)
            + 1
    }

    /// Draws a rank from 1 to n with equal chances, for reads of cold ids.
    pub fn sample_uniform(&self) -> usize {
        fastrand::usize(1..=self.cumulative.len())
    }
}

/// The population the load draws from.
#[derive(Clone, Debug)]
pub struct Population {
    pub users: Zipf,
    pub articles: Zipf,
}

/// Distinct users; with exponent 1.1 the top user draws about 8% of reactions.
pub const USERS: usize = 100_000;
/// Distinct articles; with exponent 1.2 the ten hottest draw about half of all reactions.
pub const ARTICLES: usize = 10_000;

impl Default for Population {
    fn default() -> Self {
        Population {
            users: Zipf::new(USERS, 1.1),
            articles: Zipf::new(ARTICLES, 1.2),
        }
    }
}

const BEHAVIORS: [&str; 4] = ["love", "like", "angry", "cry"];

impl Population {
    /// Returns one reaction as JSON text. With `timestamp`, it carries the current time as an
    /// RFC 3339 string with milliseconds; without it, ingest stamps it.
    pub fn reaction_json(&self, timestamp: bool) -> String {
        let user = self.users.sample();
        let article = self.articles.sample();
        let behavior = BEHAVIORS[fastrand::usize(..BEHAVIORS.len())];
        if timestamp {
            let now = shared::Timestamp::now().to_rfc3339();
            format!(
                r#"{{"user_id":"u-{user}","article_id":"a-{article}","behavior":"{behavior}","timestamp":"{now}"}}"#
            )
        } else {
            format!(
                r#"{{"user_id":"u-{user}","article_id":"a-{article}","behavior":"{behavior}"}}"#
            )
        }
    }

    /// Returns a JSON array of `count` reactions.
    pub fn batch_json(&self, count: usize, timestamp: bool) -> String {
        let items: Vec<String> = (0..count).map(|_| self.reaction_json(timestamp)).collect();
        format!("[{}]", items.join(","))
    }

    /// Returns a read path drawn from `mix`: a user's or an article's summary or listing, for
    /// a hot id (drawn from the Zipf distribution) or a cold one (uniform), half and half.
    pub fn read_path(&self, mix: &ReadMix) -> String {
        let hot = fastrand::bool();
        let pick = |zipf: &Zipf| {
            if hot {
                zipf.sample()
            } else {
                zipf.sample_uniform()
            }
        };
        match mix.pick() {
            Read::UserSummary => format!("/v1/users/u-{}/reactions/summary", pick(&self.users)),
            Read::UserList => format!("/v1/users/u-{}/reactions?limit=100", pick(&self.users)),
            Read::ArticleSummary => {
                format!("/v1/articles/a-{}/reactions/summary", pick(&self.articles))
            }
            Read::ArticleList => {
                let behavior = BEHAVIORS[fastrand::usize(..BEHAVIORS.len())];
                format!(
                    "/v1/articles/a-{}/reactions?behavior={behavior}&limit=100",
                    pick(&self.articles)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_ranks_stay_in_range() {
        let zipf = Zipf::new(10, 1.0);
        for _ in 0..10_000 {
            let rank = zipf.sample();
            assert!((1..=10).contains(&rank), "rank {rank}");
        }
    }

    #[test]
    fn zipf_favours_low_ranks() {
        fastrand::seed(7);
        let zipf = Zipf::new(1_000, 1.2);
        let draws = 20_000;
        let top = (0..draws).filter(|_| zipf.sample() == 1).count();
        // Rank 1 has probability 1 / H(1000, 1.2), about 0.23.
        let share = top as f64 / draws as f64;
        assert!((0.20..0.26).contains(&share), "share of rank 1: {share}");
    }

    #[test]
    fn reactions_are_valid_for_ingest() {
        let population = Population::default();
        let window = shared::timestamp::TimeWindow::default();
        let sequence = || 0;
        let stamp = shared::validate::Stamp {
            now: shared::Timestamp::now(),
            window,
            next_sequence: &sequence,
        };
        for timestamp in [true, false] {
            let batch: serde_json::Value =
                serde_json::from_str(&population.batch_json(5, timestamp)).unwrap();
            let items = batch.as_array().unwrap();
            let reactions = shared::validate::validate_all(items, &stamp).unwrap();
            assert_eq!(reactions.len(), 5, "timestamp {timestamp}");
        }
    }
}
