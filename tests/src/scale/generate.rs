//! Deterministic reactions: who reacts to what, how and when, chunk by chunk.
//!
//! Every chunk has its own random stream derived from the seed and the chunk number, so the
//! dataset is the same whatever the number of writer threads and the order they run in.

use shared::behavior::BehaviorCounts;
use shared::reaction::separate_store_times;
use shared::{Behavior, Id, Reaction, Timestamp};

use super::zipf::Zipf;
use super::{article_id, user_id};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Mean time between an article's publication and a reaction to it. Readers react to news
/// soon after it appears, so most of an article's reactions fall in its first days.
const MEAN_REACTION_DELAY_MS: f64 = 36.0 * 3_600_000.0;

/// Share of each behavior, in percent, in the order of `Behavior::ALL`.
const BEHAVIOR_PERCENT: [u32; 4] = [20, 55, 10, 15];

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub seed: u64,
    pub reactions: u64,
    pub users: usize,
    pub articles: usize,
    pub days: u32,
    /// End of the time span (exclusive), in epoch milliseconds.
    pub end_ms: i64,
    pub user_exponent: f64,
    pub article_exponent: f64,
    /// Reactions per chunk; each chunk is one store write.
    pub chunk_reactions: usize,
}

impl Spec {
    pub fn start_ms(&self) -> i64 {
        self.end_ms - i64::from(self.days) * MILLIS_PER_DAY
    }

    pub fn chunk_count(&self) -> u64 {
        self.reactions.div_ceil(self.chunk_reactions as u64)
    }
}

/// Reactions per behavior for every user and every article, indexed by rank.
#[derive(Clone, Debug)]
pub struct Tally {
    pub users: Vec<BehaviorCounts>,
    pub articles: Vec<BehaviorCounts>,
}

impl Tally {
    pub fn new(spec: &Spec) -> Tally {
        Tally {
            users: vec![BehaviorCounts::default(); spec.users],
            articles: vec![BehaviorCounts::default(); spec.articles],
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        add_all(&mut self.users, &other.users);
        add_all(&mut self.articles, &other.articles);
    }
}

fn add_all(into: &mut [BehaviorCounts], from: &[BehaviorCounts]) {
    for (total, counts) in into.iter_mut().zip(from) {
        for behavior in Behavior::ALL {
            *total.get_mut(behavior) += counts.get(behavior);
        }
    }
}

/// Draws chunks of a dataset.
pub struct Generator {
    spec: Spec,
    users: Zipf,
    articles: Zipf,
}

impl Generator {
    pub fn new(spec: Spec) -> Generator {
        Generator {
            users: Zipf::new(spec.users, spec.user_exponent),
            articles: Zipf::new(spec.articles, spec.article_exponent),
            spec,
        }
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Returns chunk `index` and counts its reactions in `tally`. Store times inside the chunk
    /// are separated as ingest separates those of one request.
    pub fn chunk(&self, index: u64, tally: &mut Tally) -> Vec<Reaction> {
        let first = index * self.spec.chunk_reactions as u64;
        let count = (self.spec.reactions - first).min(self.spec.chunk_reactions as u64);
        let mut rng = fastrand::Rng::with_seed(mix(self.spec.seed, index));
        let mut reactions = Vec::with_capacity(count as usize);

        for _ in 0..count {
            let user = self.users.sample(&mut rng);
            let article = self.articles.sample(&mut rng);
            let behavior = draw_behavior(&mut rng);
            let millis = self.reaction_time(article, &mut rng);

            *tally.users[user].get_mut(behavior) += 1;
            *tally.articles[article].get_mut(behavior) += 1;
            reactions.push(Reaction::with_client_time(
                Id::parse(user_id(user)).expect("generated user ids are valid"),
                Id::parse(article_id(article)).expect("generated article ids are valid"),
                behavior,
                Timestamp::from_millis(millis),
            ));
        }

        separate_store_times(&mut reactions);
        reactions
    }

    /// Returns when a reaction to `article` happens: an exponential delay after the article's
    /// publication, or a uniform time between publication and the end of the span when that
    /// delay would pass the end.
    fn reaction_time(&self, article: usize, rng: &mut fastrand::Rng) -> i64 {
        let published = self.publication_time(article);
        let delay = -MEAN_REACTION_DELAY_MS * (1.0 - rng.f64()).ln();
        let time = published.saturating_add(delay as i64);
        if time < self.spec.end_ms {
            time
        } else {
            rng.i64(published..self.spec.end_ms)
        }
    }

    /// Returns the publication time of an article: a fixed function of the seed and the
    /// article, uniform over the span.
    fn publication_time(&self, article: usize) -> i64 {
        let span = (self.spec.end_ms - self.spec.start_ms()) as u64;
        let offset = mix(self.spec.seed ^ 0xA17C_1E5E_ED00_0000, article as u64) % span;
        self.spec.start_ms() + offset as i64
    }
}

fn draw_behavior(rng: &mut fastrand::Rng) -> Behavior {
    let mut draw = rng.u32(0..100);
    for (behavior, percent) in Behavior::ALL.into_iter().zip(BEHAVIOR_PERCENT) {
        if draw < percent {
            return behavior;
        }
        draw -= percent;
    }
    Behavior::Like
}

/// Derives a well-spread 64-bit value from two inputs (SplitMix64's finalizer), so that
/// neighbouring chunk numbers get unrelated random streams.
fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            seed: 42,
            reactions: 1_000,
            users: 100,
            articles: 20,
            days: 90,
            end_ms: 1_767_225_600_000,
            user_exponent: 0.8,
            article_exponent: 1.0,
            chunk_reactions: 300,
        }
    }

    fn all_chunks(generator: &Generator) -> (Vec<Reaction>, Tally) {
        let mut tally = Tally::new(generator.spec());
        let reactions = (0..generator.spec().chunk_count())
            .flat_map(|index| generator.chunk(index, &mut tally))
            .collect();
        (reactions, tally)
    }

    #[test]
    fn same_seed_same_dataset() {
        let (first, _) = all_chunks(&Generator::new(spec()));
        let (again, _) = all_chunks(&Generator::new(spec()));
        assert_eq!(first, again);
    }

    #[test]
    fn chunks_cover_the_requested_count() {
        let generator = Generator::new(spec());
        let (reactions, tally) = all_chunks(&generator);
        assert_eq!(generator.spec().chunk_count(), 4);
        assert_eq!(reactions.len(), 1_000);
        let counted: u64 = tally.users.iter().map(BehaviorCounts::total).sum();
        assert_eq!(counted, 1_000);
    }

    #[test]
    fn times_stay_inside_the_span() {
        let generator = Generator::new(spec());
        let (reactions, _) = all_chunks(&generator);
        let span = generator.spec().start_ms()..generator.spec().end_ms;
        assert!(
            reactions
                .iter()
                .all(|reaction| span.contains(&reaction.timestamp.as_millis()))
        );
    }

    #[test]
    fn first_article_is_hottest() {
        let (_, tally) = all_chunks(&Generator::new(spec()));
        let hottest = tally.articles[0].total();
        assert!(tally.articles[1..].iter().all(|c| c.total() < hottest));
    }
}
