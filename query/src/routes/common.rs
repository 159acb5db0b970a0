//! What the user and article endpoints share: parameter extraction, the cached summary, and
//! cursor pages of a listing.

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use shared::Timestamp;
use shared::reaction::timestamp_of_nanos;

use crate::error::QueryError;
use crate::paging::{self, Page};
use crate::params::{self, Subject};
use crate::state::AppState;
use crate::store::{RowQuery, Summary};

/// Unwraps a percent-decoded path segment, or names the parameter that could not be decoded.
pub fn path_id(
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

pub fn query_pairs(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, QueryError> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|rejection| QueryError::invalid("query", rejection.body_text()))
}

/// Parameters of the summary endpoints, and of the listings.
const SUMMARY_PARAMETERS: &[&str] = &["from", "to"];
const LIST_PARAMETERS: &[&str] = &["behavior", "from", "to", "limit", "cursor"];

/// Rejects parameters the endpoint does not take, so that a typo such as `behaviour=like`
/// is not silently ignored.
fn check_names(query: &HashMap<String, String>, allowed: &[&str]) -> Result<(), QueryError> {
    match query.keys().find(|name| !allowed.contains(&name.as_str())) {
        None => Ok(()),
        Some(name) => Err(QueryError::invalid(
            "query",
            format!(
                "unknown parameter {name:?}; this endpoint takes {}",
                allowed.join(", ")
            ),
        )),
    }
}

/// Returns the summary of `subject` for the `from`/`to` in `query`, through the cache.
pub async fn summary(
    state: &AppState,
    subject: Subject,
    query: &HashMap<String, String>,
) -> Result<Summary, QueryError> {
    check_names(query, SUMMARY_PARAMETERS)?;
    let range = params::time_range(query)?;
    // The fetch owns a handle on the store, because a refresh outlives the request.
    let store = state.store.clone();
    let key = (subject, range);
    let fetch_key = key.clone();
    state
        .cache
        .get_or_fetch(key, move || async move {
            store.summary(&fetch_key.0, fetch_key.1).await
        })
        .await
}

/// Returns one page of `subject`'s reactions for the filters and cursor in `query`.
pub async fn page(
    state: &AppState,
    subject: &Subject,
    query: &HashMap<String, String>,
) -> Result<Page, QueryError> {
    check_names(query, LIST_PARAMETERS)?;
    let filter = params::list_filter(query)?;
    let fingerprint = paging::fingerprint(subject, &filter);
    let cursor = match query.get("cursor") {
        Some(text) => Some(paging::decode(text, fingerprint)?),
        None => None,
    };

    let window = paging::window(cursor, filter.limit);
    let rows = state
        .store
        .list(
            subject,
            &RowQuery {
                behavior: filter.behavior,
                range: filter.range,
                until_nanos: window.until_nanos,
                fetch: window.fetch,
            },
        )
        .await?;
    Ok(paging::page(
        rows,
        cursor,
        filter.limit,
        window.fetch,
        fingerprint,
    ))
}

/// Returns the API timestamp of a row.
pub fn timestamp(time_nanos: i64) -> Timestamp {
    timestamp_of_nanos(time_nanos)
}
