//! Turns measured maximum rates into replica counts for a target rate with headroom, and the
//! InfluxDB load that the target implies, with the arithmetic written out.

use serde::Serialize;

/// Points each reaction becomes in InfluxDB: one per read path (see docs/architecture.md).
pub const POINTS_PER_REACTION: f64 = 2.0;

/// One profile's measured maximum, as sizing needs it.
#[derive(Clone, Debug)]
pub struct Measured {
    pub profile: String,
    pub max_rps: Option<u32>,
    /// Whether every step met the SLO, so that the true maximum is higher than `max_rps`.
    pub lower_bound: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Replicas {
    pub profile: String,
    pub max_rps: Option<u32>,
    /// `None` when the profile sustained no step.
    pub replicas: Option<u32>,
    /// Whether `replicas` is an upper bound, from a maximum that is only a lower bound.
    pub at_most: bool,
    pub arithmetic: String,
}

/// Replicas of every profile for `target_rps` with `headroom` (0.3 for 30%) to spare.
pub fn replicas(target_rps: u32, headroom: f64, measured: &[Measured]) -> Vec<Replicas> {
    let needed = target_rps as f64 * (1.0 + headroom);
    measured
        .iter()
        .map(|profile| {
            let (replicas, arithmetic) = match profile.max_rps {
                Some(max) if max > 0 => {
                    let exact = needed / max as f64;
                    let count = exact.ceil().max(1.0) as u32;
                    let bound = if profile.lower_bound {
                        " at most, since every step met the SLO and the maximum is higher"
                    } else {
                        ""
                    };
                    (
                        Some(count),
                        format!(
                            "ceil({target_rps} × {:.2} / {max}) = ceil({exact:.2}) = {count}{bound}",
                            1.0 + headroom
                        ),
                    )
                }
                _ => (
                    None,
                    "no measured rate met the SLO, so this profile cannot be sized".to_owned(),
                ),
            };
            Replicas {
                profile: profile.profile.clone(),
                max_rps: profile.max_rps,
                replicas,
                at_most: profile.lower_bound && replicas.is_some(),
                arithmetic,
            }
        })
        .collect()
}

/// The InfluxDB load of the ingest target.
#[derive(Clone, Debug, Serialize)]
pub struct StoreLoad {
    pub reactions_per_s: f64,
    pub points_per_s: f64,
    /// Cores of InfluxDB, from its CPU time per stored reaction in the measured runs.
    pub influxd_cores: Option<f64>,
    pub arithmetic: Vec<String>,
}

/// Computes the write rate that `target_rps` requests of `reactions_per_request` imply, and
/// InfluxDB's CPU for it when its cost per reaction `influxd_us_per_reaction` was measured.
pub fn store_load(
    target_rps: u32,
    reactions_per_request: usize,
    influxd_us_per_reaction: Option<f64>,
) -> StoreLoad {
    let reactions_per_s = target_rps as f64 * reactions_per_request as f64;
    let points_per_s = reactions_per_s * POINTS_PER_REACTION;
    let mut arithmetic = vec![
        format!(
            "{target_rps} requests/s × {reactions_per_request} per request = {reactions_per_s:.0} reactions/s"
        ),
        format!(
            "{reactions_per_s:.0} reactions/s × {POINTS_PER_REACTION} points = {points_per_s:.0} points/s written to InfluxDB"
        ),
    ];
    let influxd_cores = influxd_us_per_reaction.map(|us| {
        let cores = reactions_per_s * us / 1e6;
        arithmetic.push(format!(
            "{reactions_per_s:.0} reactions/s × {us:.1} µs of influxd CPU per reaction = {cores:.2} cores of InfluxDB"
        ));
        cores
    });
    StoreLoad {
        reactions_per_s,
        points_per_s,
        influxd_cores,
        arithmetic,
    }
}

/// Computes the store queries per second of the query target, given the share of requests
/// served from the cache, with the arithmetic.
pub fn store_queries(target_rps: u32, cache_hit_ratio: Option<f64>) -> (f64, String) {
    let misses = 1.0 - cache_hit_ratio.unwrap_or(0.0);
    let queries = target_rps as f64 * misses;
    (
        queries,
        format!(
            "{target_rps} requests/s × {misses:.3} not answered by the cache = {queries:.0} store queries/s"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(max_rps: Option<u32>) -> Measured {
        Measured {
            profile: "1cpu-256mb".to_owned(),
            max_rps,
            lower_bound: false,
        }
    }

    #[test]
    fn replicas_round_up_after_headroom() {
        let rows = replicas(2000, 0.3, &[measured(Some(1000))]);
        assert_eq!(rows[0].replicas, Some(3));
        assert_eq!(
            rows[0].arithmetic,
            "ceil(2000 × 1.30 / 1000) = ceil(2.60) = 3"
        );
        let rows = replicas(500, 0.3, &[measured(Some(1000))]);
        assert_eq!(rows[0].replicas, Some(1));
    }

    #[test]
    fn replicas_from_a_lower_bound_are_at_most() {
        let unbounded = Measured {
            lower_bound: true,
            ..measured(Some(1000))
        };
        let rows = replicas(2000, 0.3, &[unbounded]);
        assert!(rows[0].at_most);
        assert!(
            rows[0].arithmetic.ends_with("the maximum is higher"),
            "{}",
            rows[0].arithmetic
        );
    }

    #[test]
    fn replicas_without_a_maximum_are_unknown() {
        let rows = replicas(2000, 0.3, &[measured(None), measured(Some(0))]);
        assert!(rows.iter().all(|row| row.replicas.is_none()));
    }

    #[test]
    fn store_load_counts_two_points_per_reaction() {
        let load = store_load(1000, 100, Some(20.0));
        assert_eq!(load.reactions_per_s, 100_000.0);
        assert_eq!(load.points_per_s, 200_000.0);
        assert_eq!(load.influxd_cores, Some(2.0));
        assert_eq!(load.arithmetic.len(), 3);
    }

    #[test]
    fn cache_hits_take_queries_off_the_store() {
        let (queries, arithmetic) = store_queries(1000, Some(0.25));
        assert_eq!(queries, 750.0);
        assert!(arithmetic.contains("0.750"), "{arithmetic}");
    }
}
