//! `/v1/articles/{article_id}/reactions` and its summary.

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
    next_cursor: Option<String>,
}

#[derive(Serialize)]
struct ArticleReaction {
    user_id: String,
    behavior: Behavior,
    timestamp: Timestamp,
}

pub async fn summary(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ArticleSummary>, QueryError> {
    let subject = params::article(path_id(path, "article_id")?)?;
    let article_id = subject.id().to_owned();
    let summary = common::summary(&state, subject, &query_pairs(query)?).await?;

    Ok(Json(ArticleSummary {
        article_id,
        reactions: summary.reactions,
        users: summary.distinct,
    }))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ArticleReactions>, QueryError> {
    let subject = params::article(path_id(path, "article_id")?)?;
    let page = common::page(&state, &subject, &query_pairs(query)?).await?;

    let reactions = page
        .rows
        .into_iter()
        .map(|row| ArticleReaction {
            user_id: row.other_id,
            behavior: row.behavior,
            timestamp: common::timestamp(row.time_nanos),
        })
        .collect();
    Ok(Json(ArticleReactions {
        article_id: subject.id().to_owned(),
        reactions,
        next_cursor: page.next,
    }))
}
