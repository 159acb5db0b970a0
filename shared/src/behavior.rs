//! The four ways a user can react to an article.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user felt about an article.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    Love,
    Like,
    Angry,
    Cry,
}

impl Behavior {
    /// Every behavior, in the order the API lists them.
    pub const ALL: [Behavior; 4] = [
        Behavior::Love,
        Behavior::Like,
        Behavior::Angry,
        Behavior::Cry,
    ];

    /// The allowed values as one string for error messages.
    pub const ALLOWED: &'static str = "love, like, angry, cry";

    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Love => "love",
            Behavior::Like => "like",
            Behavior::Angry => "angry",
            Behavior::Cry => "cry",
        }
    }

    /// Position in [`Behavior::ALL`], for fixed-size per-behavior tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no behavior.
#[derive(Debug, thiserror::Error)]
#[error("unknown behavior {0:?}; allowed: love, like, angry, cry")]
pub struct UnknownBehavior(pub String);

impl FromStr for Behavior {
    type Err = UnknownBehavior;

    /// Parses the exact lowercase name; `Like` or ` like` are rejected so that every stored
    /// behavior has one spelling.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Behavior::ALL
            .into_iter()
            .find(|behavior| behavior.as_str() == value)
            .ok_or_else(|| UnknownBehavior(value.to_owned()))
    }
}

/// One count per behavior, serialized as `{"love": .., "like": .., "angry": .., "cry": ..}`
/// with all four keys always present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviorCounts {
    pub love: u64,
    pub like: u64,
    pub angry: u64,
    pub cry: u64,
}

impl BehaviorCounts {
    pub fn get_mut(&mut self, behavior: Behavior) -> &mut u64 {
        match behavior {
            Behavior::Love => &mut self.love,
            Behavior::Like => &mut self.like,
            Behavior::Angry => &mut self.angry,
            Behavior::Cry => &mut self.cry,
        }
    }

    pub fn get(&self, behavior: Behavior) -> u64 {
        match behavior {
            Behavior::Love => self.love,
            Behavior::Like => self.like,
            Behavior::Angry => self.angry,
            Behavior::Cry => self.cry,
        }
    }

    pub fn total(&self) -> u64 {
        Behavior::ALL
            .iter()
            .map(|behavior| self.get(*behavior))
            .sum()
    }
}
