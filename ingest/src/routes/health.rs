//! `/healthz` (the process is alive) and `/readyz` (it can take and store reactions).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::metrics;
use crate::state::AppState;

/// Share of the buffer above which ingest reports itself not ready, so that a load balancer
/// moves traffic elsewhere before requests start getting 503.
const HIGH_WATER: f64 = 0.9;

pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Serves the Prometheus metrics, with the buffer gauges read at scrape time.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let depth = state.gauge.depth();
    let capacity = state.gauge.capacity();
    let ready = !state.health.is_shutting_down()
        && (depth as f64) < capacity as f64 * HIGH_WATER
        && state.health.store_problem().is_none();

    ::metrics::gauge!(metrics::BUFFER_DEPTH).set(depth as f64);
    ::metrics::gauge!(metrics::BUFFER_CAPACITY).set(capacity as f64);
    ::metrics::gauge!(metrics::BUFFER_BYTES).set(state.gauge.bytes() as f64);
    ::metrics::gauge!(metrics::BUFFER_CAPACITY_BYTES).set(state.gauge.capacity_bytes() as f64);
    ::metrics::gauge!(metrics::READY).set(if ready { 1.0 } else { 0.0 });
    state.exporter.response()
}

pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let depth = state.gauge.depth();
    let capacity = state.gauge.capacity();

    let problem = if state.health.is_shutting_down() {
        Some("shutting down".to_owned())
    } else if depth as f64 >= capacity as f64 * HIGH_WATER {
        Some(format!(
            "buffer is {depth} of {capacity} reactions, above the high-water mark"
        ))
    } else if let Some(problem) = state.health.store_problem() {
        Some(problem)
    } else {
        state.probe.check().await.err()
    };

    match problem {
        None => (
            StatusCode::OK,
            Json(json!({"status": "ready", "buffer_depth": depth, "buffer_capacity": capacity})),
        ),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "not ready", "reason": reason, "buffer_depth": depth, "buffer_capacity": capacity}),
            ),
        ),
    }
}
