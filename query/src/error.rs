//! Every way a query request can fail, and the status and JSON body each one gets.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A path or query parameter the client must fix.
    #[error("invalid parameter {parameter}: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },

    /// The store could not be reached or did not answer in time.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),

    /// The store answered with an error instead of data.
    #[error("store error: {0}")]
    Store(String),
}

impl QueryError {
    pub fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        QueryError::InvalidParameter {
            parameter,
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            QueryError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            QueryError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            QueryError::Store(_) => StatusCode::BAD_GATEWAY,
        }
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let details = match &self {
            QueryError::InvalidParameter { parameter, reason } => {
                json!([{"parameter": parameter, "reason": reason}])
            }
            QueryError::StoreUnavailable(_) | QueryError::Store(_) => {
                // The client gets a short message; the full store error goes to the log.
                tracing::error!(error = %self, "store query failed");
                json!([])
            }
        };
        let message = match &self {
            QueryError::InvalidParameter { .. } => self.to_string(),
            QueryError::StoreUnavailable(_) => "the store is unavailable; retry later".to_owned(),
            QueryError::Store(reason) => format!("the store returned an error: {reason}"),
        };
        (
            self.status(),
            Json(json!({"error": message, "details": details})),
        )
            .into_response()
    }
}
