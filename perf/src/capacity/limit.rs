//! Names what stopped a service from going faster, from the readings of the first step that
//! missed the SLO compared with the first step of the plan.

use super::search::{Role, Search, Step};

/// A service using this share of its CPU quota or more is CPU-bound.
const CPU_BOUND_SHARE: f64 = 0.9;
/// A service throttled in this share of the quota periods or more is CPU-bound.
const CPU_BOUND_THROTTLING: f64 = 0.25;
/// A mean store time this many times the first step's, and at least `STORE_SLOWER_MS` more,
/// counts as a slower store.
const STORE_SLOWER_FACTOR: f64 = 2.0;
const STORE_SLOWER_MS: f64 = 5.0;
/// A machine this busy leaves no core for a confined service to use its quota.
const MACHINE_BUSY: f64 = 0.95;

/// Returns what limited the search, most direct cause first: an empty list means the highest
/// step was still sustained.
pub fn explain(search: &Search, role: Role, quota_cores: f64) -> Vec<String> {
    let (Some(failed), Some(first)) = (
        search.step_at(search.first_failed_target_rps),
        search.steps.first(),
    ) else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    if let Some(cause) = cpu(failed, role, quota_cores) {
        causes.push(cause);
    }
    if failed.result.counts.backpressure > 0 {
        let fill = failed.buffer_fill.map_or(String::new(), |fill| {
            format!(", buffer {:.0}% full at the end", fill * 100.0)
        });
        causes.push(format!(
            "buffer full: {} requests answered 503{fill}",
            failed.result.counts.backpressure
        ));
    }
    if let Some(cause) = store(failed, first, role) {
        causes.push(cause);
    }
    if failed.result.generator_saturated {
        causes.push(format!(
            "load generator: it used {:.2} cores",
            failed.result.generator_cores
        ));
    }
    if failed.result.machine_busy >= MACHINE_BUSY {
        causes.push(format!(
            "machine CPU: {:.0}% of all cores busy, shared with InfluxDB and the load generator",
            failed.result.machine_busy * 100.0
        ));
    }
    if causes.is_empty() {
        causes.push(format!(
            "no saturated resource was seen; the step failed because {}",
            failed
                .result
                .failed_because
                .as_deref()
                .unwrap_or("of the SLO")
        ));
    }
    causes
}

fn cpu(step: &Step, role: Role, quota_cores: f64) -> Option<String> {
    let cores = step.service_cores?;
    let throttled = step.throttled_fraction.unwrap_or(0.0);
    if cores < quota_cores * CPU_BOUND_SHARE && throttled < CPU_BOUND_THROTTLING {
        return None;
    }
    let throttling = step.throttled_fraction.map_or(String::new(), |share| {
        format!(", throttled in {:.0}% of quota periods", share * 100.0)
    });
    Some(format!(
        "{} CPU: {cores:.2} of {quota_cores} cores used{throttling}",
        role.name()
    ))
}

fn store(step: &Step, first: &Step, role: Role) -> Option<String> {
    let now = step.store_ms?;
    let before = first.store_ms?;
    if now < before * STORE_SLOWER_FACTOR || now - before < STORE_SLOWER_MS {
        return None;
    }
    let what = match role {
        Role::Ingest => "store write latency",
        Role::Query => "store query latency",
    };
    Some(format!(
        "{what}: {now:.1} ms on average, {before:.1} ms at the first step"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::search::fixtures::step;

    fn search(failed: Step) -> Search {
        Search {
            steps: vec![step(100, 0.05, 0, 2.0), failed],
            max_rps: Some(100),
            max_target_rps: Some(100),
            first_failed_target_rps: Some(1000),
        }
    }

    #[test]
    fn explain_service_at_quota_is_cpu() {
        let causes = explain(&search(step(1000, 0.49, 0, 2.5)), Role::Ingest, 0.5);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert!(
            causes[0].starts_with("ingest CPU: 0.49 of 0.5"),
            "{causes:?}"
        );
    }

    #[test]
    fn explain_names_slow_store_and_full_buffer() {
        let causes = explain(&search(step(1000, 0.2, 40, 80.0)), Role::Ingest, 1.0);
        assert!(
            causes[0].starts_with("buffer full: 40 requests"),
            "{causes:?}"
        );
        assert!(
            causes[1].starts_with("store write latency: 80.0 ms"),
            "{causes:?}"
        );
    }

    #[test]
    fn explain_without_saturation_gives_slo_failure() {
        let causes = explain(&search(step(1000, 0.2, 0, 2.0)), Role::Query, 1.0);
        assert!(causes[0].contains("p99 500.0 ms"), "{causes:?}");
    }

    #[test]
    fn explain_sustained_search_is_empty() {
        let mut sustained = search(step(900, 0.2, 0, 2.0));
        sustained.first_failed_target_rps = None;
        assert!(explain(&sustained, Role::Ingest, 1.0).is_empty());
    }
}
