//! `/v1/articles/{article_id}/reactions` and its summary.

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
pub struct ArticleSummary {
    article_id: String,
    reactions: BehaviorCounts,
    /// Distinct users per behavior.
    users: BehaviorCounts,
}

#[derive(Serialize)]
pub struct ArticleReactions {
    article_id: String,
    reactions: Vec<ArticleReaction>,
}

#[derive(Serialize)]
struct ArticleReaction {
    user_id: String,
    behavior: Behavior,
    timestamp: Timestamp,
}

pub async fn summary(
    State(store): State<Store>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ArticleSummary>, QueryError> {
    let subject = params::article(path_id(path, "article_id")?)?;
    let range = params::time_range(&query_pairs(query)?)?;
    let summary = store.summary(&subject, range).await?;

    Ok(Json(ArticleSummary {
        article_id: subject.id().to_owned(),
        reactions: summary.reactions,
        users: summary.distinct,
    }))
}

pub async fn list(
    State(store): State<Store>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ArticleReactions>, QueryError> {
    let subject = params::article(path_id(path, "article_id")?)?;
    let filter = params::list_filter(&query_pairs(query)?)?;
    let rows = store.list(&subject, &filter).await?;

    let reactions = rows
        .into_iter()
        .map(|row| ArticleReaction {
            user_id: row.other_id,
            behavior: row.behavior,
            timestamp: row.timestamp,
        })
        .collect();
    Ok(Json(ArticleReactions {
        article_id: subject.id().to_owned(),
        reactions,
    }))
}
