//! The HTTP surface of ingest.

mod health;
mod reactions;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::state::AppState;

/// Builds the router; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    let router = Router::new()
        .route("/v1/reactions", post(reactions::post_reactions))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    shared::http::with_request_layers(
        router,
        crate::metrics::HTTP,
        request_timeout,
        StatusCode::REQUEST_TIMEOUT,
    )
}

async fn not_found() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::NOT_FOUND,
        axum::Json(
            serde_json::json!({"error": "not found; ingest serves POST /v1/reactions, GET /healthz, GET /readyz and GET /metrics", "details": []}),
        ),
    )
}

async fn method_not_allowed() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error": "method not allowed; ingest serves POST /v1/reactions, GET /healthz, GET /readyz and GET /metrics", "details": []}),
        ),
    )
}
