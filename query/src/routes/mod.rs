//! The HTTP surface of query.

mod articles;
mod common;
mod health;
mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

use crate::state::AppState;

/// Builds the router; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    let router = Router::new()
        .route("/v1/users/{user_id}/reactions/summary", get(users::summary))
        .route("/v1/users/{user_id}/reactions", get(users::list))
        .route(
            "/v1/articles/{article_id}/reactions/summary",
            get(articles::summary),
        )
        .route("/v1/articles/{article_id}/reactions", get(articles::list))
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
        StatusCode::SERVICE_UNAVAILABLE,
    )
}

async fn not_found() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": "not found; query serves /v1/users/{user_id}/reactions[/summary] and /v1/articles/{article_id}/reactions[/summary]",
            "details": []
        })),
    )
}

async fn method_not_allowed() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(
            serde_json::json!({"error": "method not allowed; query serves GET only", "details": []}),
        ),
    )
}
