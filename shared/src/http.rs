//! Layers every HTTP route of both services gets: request ids, tracing, metrics and a request
//! timeout.

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::metrics::{HttpMetricNames, track_http};

/// Wraps `router` so that each request:
/// - keeps the client's `X-Request-Id` or gets a new UUID, returned in the response and
///   recorded in the span of every log line of the request;
/// - is counted and timed in `metrics`;
/// - is answered with `timeout_status` once it has taken `timeout`, body read included.
pub fn with_request_layers(
    router: Router,
    metrics: HttpMetricNames,
    timeout: Duration,
    timeout_status: StatusCode,
) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        })
        // Errors are logged where they are handled, with their cause; the trace layer's own
        // failure line would repeat each one (and every 503 of a readiness probe) at ERROR.
        .on_failure(DefaultOnFailure::new().level(Level::DEBUG));

    router
        .layer(TimeoutLayer::with_status_code(timeout_status, timeout))
        .layer(axum::middleware::from_fn_with_state(metrics, track_http))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
