//! Every metric ingest exports; `docs/metrics.md` documents each one.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use shared::metrics::{Exporter, HttpMetricNames, LATENCY_BUCKETS};

pub const REACTIONS_ACCEPTED: &str = "ingest_reactions_accepted_total";
pub const REACTIONS_REJECTED: &str = "ingest_reactions_rejected_total";
pub const REACTIONS_WRITTEN: &str = "ingest_reactions_written_total";
pub const REACTIONS_DROPPED: &str = "ingest_reactions_dropped_total";
pub const BUFFER_DEPTH: &str = "ingest_buffer_depth";
pub const BUFFER_CAPACITY: &str = "ingest_buffer_capacity";
pub const BUFFER_BYTES: &str = "ingest_buffer_bytes";
pub const BUFFER_CAPACITY_BYTES: &str = "ingest_buffer_capacity_bytes";
pub const BATCH_SIZE: &str = "ingest_batch_size_reactions";
pub const STORE_WRITE_DURATION: &str = "ingest_store_write_duration_seconds";
pub const STORE_WRITES: &str = "ingest_store_writes_total";
pub const STORE_WRITE_RETRIES: &str = "ingest_store_write_retries_total";
pub const READY: &str = "ingest_ready";

pub const HTTP: HttpMetricNames = HttpMetricNames {
    requests: "ingest_http_requests_total",
    duration: "ingest_http_request_duration_seconds",
};

/// Batch sizes from a single reaction to the largest configurable batches.
const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 50000.0,
];

/// Why accepted reactions were dropped: the `reason` label of [`REACTIONS_DROPPED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// InfluxDB rejected the points because a field already has another type.
    FieldTypeConflict,
    /// InfluxDB's `max-series-per-database` is reached.
    SeriesLimit,
    /// InfluxDB's `max-values-per-tag` is reached.
    TagValueLimit,
    /// The points are older than the retention policy keeps.
    BeyondRetention,
    /// Any other permanent rejection by the store.
    StoreRejected,
    /// A single reaction larger than the store accepts in one request.
    TooLarge,
    /// Still unwritten when the drain deadline passed at shutdown.
    DrainTimeout,
    /// Replaced in InfluxDB by a different reaction with the same point identity.
    Overwritten,
}

impl DropReason {
    pub const ALL: [DropReason; 8] = [
        DropReason::FieldTypeConflict,
        DropReason::SeriesLimit,
        DropReason::TagValueLimit,
        DropReason::BeyondRetention,
        DropReason::StoreRejected,
        DropReason::TooLarge,
        DropReason::DrainTimeout,
        DropReason::Overwritten,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::FieldTypeConflict => "field_type_conflict",
            DropReason::SeriesLimit => "series_limit",
            DropReason::TagValueLimit => "tag_value_limit",
            DropReason::BeyondRetention => "beyond_retention",
            DropReason::StoreRejected => "store_rejected",
            DropReason::TooLarge => "too_large",
            DropReason::DrainTimeout => "drain_timeout",
            DropReason::Overwritten => "overwritten",
        }
    }

    /// Sorts an InfluxDB rejection message into a reason.
    pub fn of_store_message(message: &str) -> Self {
        if message.contains("field type conflict") {
            DropReason::FieldTypeConflict
        } else if message.contains("max-series-per-database") {
            DropReason::SeriesLimit
        } else if message.contains("max-values-per-tag") {
            DropReason::TagValueLimit
        } else if message.contains("points beyond retention policy") {
            DropReason::BeyondRetention
        } else {
            DropReason::StoreRejected
        }
    }
}

/// Installs the recorder and describes every metric.
pub fn install() -> Result<Exporter, String> {
    let exporter = shared::metrics::install(&[
        (BATCH_SIZE, BATCH_SIZE_BUCKETS),
        (STORE_WRITE_DURATION, LATENCY_BUCKETS),
        (HTTP.duration, LATENCY_BUCKETS),
    ])?;

    describe_counter!(
        REACTIONS_ACCEPTED,
        Unit::Count,
        "Reactions accepted with 202 and queued."
    );
    describe_counter!(
        REACTIONS_REJECTED,
        Unit::Count,
        "Reactions in rejected requests, by reason; 1 for a body that could not be read."
    );
    describe_counter!(
        REACTIONS_WRITTEN,
        Unit::Count,
        "Accepted reactions the store confirmed."
    );
    describe_counter!(
        REACTIONS_DROPPED,
        Unit::Count,
        "Accepted reactions that will never be stored, by reason."
    );
    describe_gauge!(
        BUFFER_DEPTH,
        Unit::Count,
        "Reactions accepted and not yet stored or dropped."
    );
    describe_gauge!(
        BUFFER_CAPACITY,
        Unit::Count,
        "Reactions the buffer holds before requests get 503."
    );
    describe_gauge!(
        BUFFER_BYTES,
        Unit::Bytes,
        "Bytes of reactions in the buffer."
    );
    describe_gauge!(
        BUFFER_CAPACITY_BYTES,
        Unit::Bytes,
        "Bytes the buffer holds before requests get 503."
    );
    describe_histogram!(BATCH_SIZE, Unit::Count, "Reactions per store write.");
    describe_histogram!(
        STORE_WRITE_DURATION,
        Unit::Seconds,
        "Duration of one store write attempt."
    );
    describe_counter!(
        STORE_WRITES,
        Unit::Count,
        "Store write attempts by outcome."
    );
    describe_counter!(
        STORE_WRITE_RETRIES,
        Unit::Count,
        "Store write attempts that are retried."
    );
    describe_gauge!(
        READY,
        Unit::Count,
        "1 when /readyz would report ready (without the store ping), else 0."
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

    register_zeros();
    Ok(exporter)
}

/// Values of the `outcome` label of [`STORE_WRITES`].
pub const WRITE_OUTCOMES: [&str; 6] = [
    "success",
    "partial",
    "unavailable",
    "too_large",
    "unauthorized",
    "rejected",
];

/// Creates every series whose labels are known in advance, at 0, so that `rate()` and alert
/// rules see the first event and dashboards show 0 instead of no data.
fn register_zeros() {
    metrics::counter!(REACTIONS_ACCEPTED).absolute(0);
    metrics::counter!(REACTIONS_WRITTEN).absolute(0);
    metrics::counter!(STORE_WRITE_RETRIES).absolute(0);
    for reason in crate::error::ApiError::REASONS {
        metrics::counter!(REACTIONS_REJECTED, "reason" => reason).absolute(0);
    }
    for reason in DropReason::ALL {
        metrics::counter!(REACTIONS_DROPPED, "reason" => reason.as_str()).absolute(0);
    }
    for outcome in WRITE_OUTCOMES {
        metrics::counter!(STORE_WRITES, "outcome" => outcome).absolute(0);
    }
    for gauge in [
        BUFFER_DEPTH,
        BUFFER_CAPACITY,
        BUFFER_BYTES,
        BUFFER_CAPACITY_BYTES,
        READY,
    ] {
        metrics::gauge!(gauge).set(0.0);
    }
    // A histogram appears once it has a sample, so these two appear with the first write.
}
