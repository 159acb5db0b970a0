//! `POST /v1/reactions`: validate the whole request, then queue all of it or none of it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use shared::Timestamp;
use shared::validate::{FieldError, Stamp, validate_all};

use crate::buffer::PushError;
use crate::decode::{format_of, parse_items, read_body};
use crate::error::ApiError;
use crate::state::AppState;

pub async fn post_reactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let outcome = accept(&state, &headers, body).await;

    if let Err(error) = &outcome {
        tracing::debug!(reason = error.reason(), error = %error, "rejected a request");
    }
    outcome
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if state.health.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }

    let format = format_of(headers)?;
    let body = read_body(headers, body, state.limits.max_body_bytes).await?;
    let items = parse_items(&body, format)?;

    if items.is_empty() {
        return Err(ApiError::Invalid(vec![FieldError {
            index: 0,
            field: None,
            reason: "the request contains no reactions".to_owned(),
        }]));
    }
    if items.len() > state.limits.max_request_reactions {
        return Err(ApiError::TooManyReactions {
            count: items.len(),
            limit: state.limits.max_request_reactions,
        });
    }

    let next_sequence = || state.sequence.fetch_add(1, Ordering::Relaxed);
    let stamp = Stamp {
        now: Timestamp::now(),
        window: state.limits.time_window,
        next_sequence: &next_sequence,
    };
    let reactions = validate_all(&items, &stamp).map_err(ApiError::Invalid)?;
    let count = reactions.len();

    match state.buffer.try_push(reactions) {
        Ok(()) => {
            state.accepted.fetch_add(count as u64, Ordering::Relaxed);
            Ok((StatusCode::ACCEPTED, Json(json!({"accepted": count}))))
        }
        Err(PushError::Full { retry_after }) => Err(ApiError::BufferFull { retry_after }),
        Err(PushError::Closed) => Err(ApiError::ShuttingDown),
    }
}
