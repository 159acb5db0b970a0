//! `/v1/users/{user_id}/reactions` and its summary.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Serialize;
use shared::behavior::BehaviorCounts;
use shared::{Behavior, Timestamp};

use super::common::{self, path_id, query_pairs};
use crate::error::QueryError;
use crate::params;
use crate::state::AppState;

#[derive(Serialize)]
pub struct UserSummary {
    user_id: String,
    reactions: BehaviorCounts,
    /// Distinct articles per behavior.
    articles: BehaviorCounts,
}

#[derive(Serialize)]
pub struct UserReactions {
    user_id: String,
    reactions: Vec<UserReaction>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct UserReaction {
    article_id: String,
    behavior: Behavior,
    timestamp: Timestamp,
}

pub async fn summary(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<UserSummary>, QueryError> {
    let subject = params::user(path_id(path, "user_id")?)?;
    let user_id = subject.id().to_owned();
    let summary = common::summary(&state, subject, &query_pairs(query)?).await?;

    Ok(Json(UserSummary {
        user_id,
        reactions: summary.reactions,
        articles: summary.distinct,
    }))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<UserReactions>, QueryError> {
    let subject = params::user(path_id(path, "user_id")?)?;
    let page = common::page(&state, &subject, &query_pairs(query)?).await?;

    let reactions = page
        .rows
        .into_iter()
        .map(|row| UserReaction {
            article_id: row.other_id,
            behavior: row.behavior,
            timestamp: common::timestamp(row.time_nanos),
        })
        .collect();
    Ok(Json(UserReactions {
        user_id: subject.id().to_owned(),
        reactions,
        next_cursor: page.next,
    }))
}
