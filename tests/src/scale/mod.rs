//! Scale tooling for the query service: a deterministic, skewed dataset written straight to a
//! store, and a closed-loop benchmark of the query endpoints.

pub mod bench;
pub mod generate;
pub mod load;
pub mod manifest;
pub mod sink;
pub mod zipf;

/// User ids are this prefix followed by the user's popularity rank (0 is the heaviest).
pub const USER_PREFIX: &str = "u-";

/// Article ids are this prefix followed by the article's popularity rank (0 is the hottest).
pub const ARTICLE_PREFIX: &str = "a-";

pub fn user_id(rank: usize) -> String {
    format!("{USER_PREFIX}{rank}")
}

pub fn article_id(rank: usize) -> String {
    format!("{ARTICLE_PREFIX}{rank}")
}
