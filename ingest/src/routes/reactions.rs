//! `POST /v1/reactions`: validate the whole request, then queue all of it or none of it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};
use shared::Timestamp;
use shared::validate::{FieldError, Stamp, validate_all};

use crate::buffer::PushError;
use crate::decode::{format_of, parse_items, read_body};
use crate::error::ApiError;
use crate::metrics::{REACTIONS_ACCEPTED, REACTIONS_REJECTED};
use crate::state::AppState;

/// Accepts a request of reactions; see the README for the statuses.
pub async fn post_reactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // A body that cannot be read counts as one rejected reaction; once parsed, each item counts.
    let mut reactions_in_request = 1;
    let outcome = accept(&state, &headers, body, &mut reactions_in_request).await;

    match &outcome {
        Ok(_) => ::metrics::counter!(REACTIONS_ACCEPTED).increment(reactions_in_request),
        Err(error) => {
            ::metrics::counter!(REACTIONS_REJECTED, "reason" => error.reason())
                .increment(reactions_in_request);
            tracing::debug!(reason = error.reason(), error = %error, "rejected a request");
        }
    }
    outcome
}

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    reactions_in_request: &mut u64,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if state.health.is_shutting_down() {
        return Err(ApiError::ShuttingDown);
    }

    let format = format_of(headers)?;

    // Bodies are bounded one by one, and this bounds them together, so that many concurrent
    // large requests cannot take the process past its memory limit.
    let limit = state.limits.max_body_bytes;
    let expected = if headers.contains_key(header::CONTENT_ENCODING) {
        limit
    } else {
        content_length(headers).map_or(limit, |length| length.min(limit))
    };
    let _reserved = state
        .body_budget
        .try_reserve(expected)
        .ok_or(ApiError::Busy)?;

    let body = read_body(headers, body, limit).await?;
    let items = parse_items(&body, format)?;
    *reactions_in_request = items.len().max(1) as u64;

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
    let bytes = reactions.iter().map(shared::Reaction::size_bytes).sum();

    match state.buffer.try_push(reactions) {
        Ok(()) => {
            state.accepted.fetch_add(count as u64, Ordering::Relaxed);
            Ok((StatusCode::ACCEPTED, Json(json!({"accepted": count}))))
        }
        Err(PushError::Full { retry_after }) => Err(ApiError::BufferFull { retry_after }),
        Err(PushError::LargerThanBuffer) => Err(ApiError::LargerThanBuffer {
            count,
            bytes,
            capacity: state.gauge.capacity(),
            capacity_bytes: state.gauge.capacity_bytes(),
        }),
        Err(PushError::Closed) => Err(ApiError::ShuttingDown),
    }
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}
