//! `/healthz` (the process is alive), `/readyz` (the store answers) and `/metrics`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::metrics::READY;
use crate::state::AppState;

pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let outcome = state.store.check().await;
    metrics::gauge!(READY).set(if outcome.is_ok() { 1.0 } else { 0.0 });

    match outcome {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not ready", "reason": reason})),
        ),
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    state.exporter.response()
}
