//! The mix of read requests a query load sends: how often each endpoint is read, as relative
//! weights given on the command line (`user-summary=40,article-summary=40,...`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The four query endpoints a read can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Read {
    UserSummary,
    UserList,
    ArticleSummary,
    ArticleList,
}

const READS: [(Read, &str); 4] = [
    (Read::UserSummary, "user-summary"),
    (Read::UserList, "user-list"),
    (Read::ArticleSummary, "article-summary"),
    (Read::ArticleList, "article-list"),
];

/// Largest weight, so that the sum of four fits in a `u32`.
const MAX_WEIGHT: u32 = 1_000_000;

/// Relative weights of the four reads; at least one is positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ReadMix {
    weights: [u32; 4],
}

impl Default for ReadMix {
    /// Returns a mix that reads each endpoint equally often.
    fn default() -> Self {
        ReadMix { weights: [1; 4] }
    }
}

impl ReadMix {
    /// Draws one read with probability proportional to its weight.
    pub fn pick(&self) -> Read {
        let total: u32 = self.weights.iter().sum();
        let mut ticket = fastrand::u32(..total);
        for (index, weight) in self.weights.iter().enumerate() {
            if ticket < *weight {
                return READS[index].0;
            }
            ticket -= weight;
        }
        READS[3].0
    }
}

impl FromStr for ReadMix {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut weights = [0; 4];
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not NAME=WEIGHT, as in user-summary=40"))?;
            let index = READS
                .iter()
                .position(|(_, known)| *known == name.trim())
                .ok_or_else(|| format!("unknown read `{name}`; the reads are {}", names()))?;
            weights[index] = weight
                .trim()
                .parse()
                .ok()
                .filter(|weight| *weight <= MAX_WEIGHT)
                .ok_or_else(|| {
                    format!(
                        "the weight of `{name}` must be a whole number up to {MAX_WEIGHT}, not `{weight}`"
                    )
                })?;
        }
        if weights.iter().all(|weight| *weight == 0) {
            return Err(format!(
                "give at least one positive weight among {}",
                names()
            ));
        }
        Ok(ReadMix { weights })
    }
}

impl fmt::Display for ReadMix {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = READS
            .iter()
            .zip(self.weights)
            .filter(|(_, weight)| *weight > 0)
            .map(|((_, name), weight)| format!("{name}={weight}"))
            .collect();
        formatter.write_str(&parts.join(","))
    }
}

fn names() -> String {
    READS.map(|(_, name)| name).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_mix_round_trips_through_text() {
        let mix: ReadMix = "user-summary=40, article-summary=60".parse().unwrap();
        assert_eq!(mix.to_string(), "user-summary=40,article-summary=60");
    }

    #[test]
    fn only_weighted_reads_are_picked() {
        let mix: ReadMix = "article-list=1".parse().unwrap();
        assert!((0..200).all(|_| mix.pick() == Read::ArticleList));
    }

    #[test]
    fn bad_mixes_say_what_is_allowed() {
        let error = "user-sumary=1".parse::<ReadMix>().unwrap_err();
        assert!(error.contains("user-summary, user-list"), "{error}");
        assert!(
            "user-list=x"
                .parse::<ReadMix>()
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            "user-list=0"
                .parse::<ReadMix>()
                .unwrap_err()
                .contains("positive")
        );
        let error = "user-list=4294967295".parse::<ReadMix>().unwrap_err();
        assert!(error.contains("up to 1000000"), "{error}");
        assert!(
            "user-list"
                .parse::<ReadMix>()
                .unwrap_err()
                .contains("NAME=WEIGHT")
        );
    }
}
