//! The HTTP surface of query.

mod articles;
mod health;
mod users;

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::QueryError;
use crate::store::Store;

/// Builds the router; tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(store: Store, request_timeout: Duration) -> Router {
    Router::new()
        .route("/v1/users/{user_id}/reactions/summary", get(users::summary))
        .route("/v1/users/{user_id}/reactions", get(users::list))
        .route(
            "/v1/articles/{article_id}/reactions/summary",
            get(articles::summary),
        )
        .route("/v1/articles/{article_id}/reactions", get(articles::list))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .fallback(not_found)
        .with_state(store)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

/// Unwraps a percent-decoded path segment, or names the parameter that could not be decoded.
fn path_id(
    path: Result<Path<String>, PathRejection>,
    parameter: &'static str,
) -> Result<String, QueryError> {
    path.map(|Path(id)| id).map_err(|rejection| {
        QueryError::invalid(
            parameter,
            format!("cannot be decoded: {}", rejection.body_text()),
        )
    })
}

fn query_pairs(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, QueryError> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|rejection| QueryError::invalid("query", rejection.body_text()))
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
