//! `/v1/users/{user_id}/reactions` and its summary.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Serialize;
use shared::behavior::BehaviorCounts;
use shared::{Behavior, Timestamp};

use super::{path_id, query_pairs};
use crate::error::QueryError;
use crate::params;
use crate::store::Store;

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
}

#[derive(Serialize)]
struct UserReaction {
    article_id: String,
    behavior: Behavior,
    timestamp: Timestamp,
}

pub async fn summary(
    State(store): State<Store>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<UserSummary>, QueryError> {
    let subject = params::user(path_id(path, "user_id")?)?;
    let range = params::time_range(&query_pairs(query)?)?;
    let summary = store.summary(&subject, range).await?;

    Ok(Json(UserSummary {
        user_id: subject.id().to_owned(),
        reactions: summary.reactions,
        articles: summary.distinct,
    }))
}

pub async fn list(
    State(store): State<Store>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<UserReactions>, QueryError> {
    let subject = params::user(path_id(path, "user_id")?)?;
    let filter = params::list_filter(&query_pairs(query)?)?;
    let rows = store.list(&subject, &filter).await?;

    let reactions = rows
        .into_iter()
        .map(|row| UserReaction {
            article_id: row.other_id,
            behavior: row.behavior,
            timestamp: row.timestamp,
        })
        .collect();
    Ok(Json(UserReactions {
        user_id: subject.id().to_owned(),
        reactions,
    }))
}
