//! Every metric query exports; `docs/metrics.md` documents each one.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use shared::metrics::{Exporter, HttpMetricNames, LATENCY_BUCKETS};

pub const STORE_QUERY_DURATION: &str = "query_store_query_duration_seconds";
pub const STORE_ERRORS: &str = "query_store_errors_total";
pub const CACHE_HITS: &str = "query_cache_hits_total";
pub const CACHE_MISSES: &str = "query_cache_misses_total";
pub const CACHE_REFRESHES: &str = "query_cache_refreshes_total";
pub const READY: &str = "query_ready";

pub const HTTP: HttpMetricNames = HttpMetricNames {
    requests: "query_http_requests_total",
    duration: "query_http_request_duration_seconds",
};

/// Installs the recorder and describes every metric.
pub fn install() -> Result<Exporter, String> {
    let exporter = shared::metrics::install(&[
        (STORE_QUERY_DURATION, LATENCY_BUCKETS),
        (HTTP.duration, LATENCY_BUCKETS),
    ])?;

    describe_histogram!(
        STORE_QUERY_DURATION,
        Unit::Seconds,
        "Duration of one store query, by kind (summary or list)."
    );
    describe_counter!(
        STORE_ERRORS,
        Unit::Count,
        "Failed store queries, by kind (unavailable or error)."
    );
    describe_counter!(
        CACHE_HITS,
        Unit::Count,
        "Summary requests answered from the cache, fresh or stale, or by a query already running."
    );
    describe_counter!(
        CACHE_MISSES,
        Unit::Count,
        "Summary requests that ran a store query."
    );
    describe_counter!(
        CACHE_REFRESHES,
        Unit::Count,
        "Store queries started in the background to refresh a stale cached summary."
    );
    describe_gauge!(
        READY,
        Unit::Count,
        "1 when the last readiness check found the store reachable, else 0."
    );
    describe_counter!(
        HTTP.requests,
        Unit::Count,
        "HTTP requests by route template, method and status class."
    );
    describe_histogram!(
        HTTP.duration,
        Unit::Seconds,
        "HTTP request duration by route template and method."
    );

    // Series whose labels are known in advance start at 0, so that rate() sees the first event.
    metrics::counter!(CACHE_HITS).absolute(0);
    metrics::counter!(CACHE_MISSES).absolute(0);
    metrics::counter!(CACHE_REFRESHES).absolute(0);
    for kind in ["unavailable", "error"] {
        metrics::counter!(STORE_ERRORS, "kind" => kind).absolute(0);
    }
    metrics::gauge!(READY).set(0.0);
    Ok(exporter)
}
