//! Every way a request can fail, and the status and JSON body each one gets.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shared::validate::FieldError;

/// A rejected request. Nothing from a rejected request is queued.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unsupported content type {0}; send application/json or application/x-ndjson")]
    UnsupportedContentType(String),

    #[error("unsupported content encoding {0:?}; send gzip or no encoding")]
    UnsupportedContentEncoding(String),

    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },

    #[error("request has {count} reactions; the limit is {limit} per request")]
    TooManyReactions { count: usize, limit: usize },

    #[error(
        "request has {count} reactions ({bytes} bytes in memory); the buffer holds at most {capacity} reactions and {capacity_bytes} bytes, so split the request"
    )]
    LargerThanBuffer {
        count: usize,
        bytes: usize,
        capacity: usize,
        capacity_bytes: usize,
    },

    #[error("request body is not valid: {0}")]
    Malformed(String),

    #[error("request contains invalid reactions; nothing was accepted")]
    Invalid(Vec<FieldError>),

    #[error("buffer is full; retry after {}s", retry_after.as_secs())]
    BufferFull { retry_after: Duration },

    #[error("too many request bodies are being read at once; retry after 1s")]
    Busy,

    #[error("service is shutting down")]
    ShuttingDown,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    details: &'a [FieldError],
}

impl ApiError {
    /// Every value [`ApiError::reason`] returns.
    pub const REASONS: [&'static str; 10] = [
        "content_type",
        "content_encoding",
        "body_too_large",
        "too_many_reactions",
        "larger_than_buffer",
        "malformed",
        "invalid",
        "buffer_full",
        "busy",
        "shutting_down",
    ];

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnsupportedContentType(_) | ApiError::UnsupportedContentEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::BodyTooLarge { .. }
            | ApiError::TooManyReactions { .. }
            | ApiError::LargerThanBuffer { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BufferFull { .. } | ApiError::Busy | ApiError::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// Returns a short label for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::UnsupportedContentType(_) => "content_type",
            ApiError::UnsupportedContentEncoding(_) => "content_encoding",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::TooManyReactions { .. } => "too_many_reactions",
            ApiError::LargerThanBuffer { .. } => "larger_than_buffer",
            ApiError::Malformed(_) => "malformed",
            ApiError::Invalid(_) => "invalid",
            ApiError::BufferFull { .. } => "buffer_full",
            ApiError::Busy => "busy",
            ApiError::ShuttingDown => "shutting_down",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details = match &self {
            ApiError::Invalid(details) => details.as_slice(),
            _ => &[],
        };
        let body = ErrorBody {
            error: self.to_string(),
            details,
        };
        let mut response = (self.status(), Json(body)).into_response();

        let retry_after = match &self {
            ApiError::BufferFull { retry_after } => Some(retry_after.as_secs().max(1)),
            ApiError::Busy | ApiError::ShuttingDown => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }

        response
    }
}
