//! Reads from the embedded SQLite store on blocking threads, with a small connection pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};
use shared::Behavior;
use shared::embedded;
use shared::reaction::NANOS_PER_MILLI;

use super::{Row, RowQuery, Summary};
use crate::error::QueryError;
use crate::params::{Subject, TimeRange};

/// Idle connections kept for reuse; more are opened under load and closed afterwards.
const POOL_SIZE: usize = 8;

pub struct SqliteStore {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let first = embedded::open_reader(path).map_err(|error| {
            anyhow::anyhow!("cannot open the embedded store {}: {error}", path.display())
        })?;
        Ok(SqliteStore {
            path: path.to_owned(),
            idle: Arc::new(Mutex::new(vec![first])),
        })
    }

    pub async fn summary(&self, subject: Subject, range: TimeRange) -> Result<Summary, QueryError> {
        self.with_connection(move |connection| summary(connection, &subject, range))
            .await
    }

    pub async fn list(&self, subject: Subject, query: RowQuery) -> Result<Vec<Row>, QueryError> {
        self.with_connection(move |connection| list(connection, &subject, &query))
            .await
    }

    async fn with_connection<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, QueryError> {
        let idle = self.idle.clone();
        let path = self.path.clone();

        let outcome = tokio::task::spawn_blocking(move || {
            let pooled = idle
                .lock()
                .ok()
                .and_then(|mut connections| connections.pop());
            let connection = match pooled {
                Some(connection) => connection,
                None => embedded::open_reader(&path)?,
            };
            let result = work(&connection);
            if let Ok(mut connections) = idle.lock()
                && connections.len() < POOL_SIZE
            {
                connections.push(connection);
            }
            result
        })
        .await
        .map_err(|error| QueryError::Store(format!("the SQLite query task failed: {error}")))?;

        outcome.map_err(|error| match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                QueryError::StoreUnavailable(format!("the embedded store is busy: {error}"))
            }
            _ => QueryError::Store(format!("the embedded store failed: {error}")),
        })
    }
}

/// Returns the id column to filter on and the other id's column.
fn columns(subject: &Subject) -> (&'static str, &'static str, &str) {
    match subject {
        Subject::User(id) => ("user_id", "article_id", id.as_str()),
        Subject::Article(id) => ("article_id", "user_id", id.as_str()),
    }
}

/// Returns the range as nanosecond bounds, open ends as the extremes of i64.
fn bounds(range: TimeRange) -> (i64, i64) {
    let from = range
        .from
        .map_or(i64::MIN, |from| from.as_millis() * NANOS_PER_MILLI);
    let to = range
        .to
        .map_or(i64::MAX, |to| to.as_millis() * NANOS_PER_MILLI);
    (from, to)
}

fn summary(
    connection: &Connection,
    subject: &Subject,
    range: TimeRange,
) -> rusqlite::Result<Summary> {
    let (column, other, id) = columns(subject);
    let (from, to) = bounds(range);
    let sql = format!(
        "SELECT behavior, count(*), count(DISTINCT {other}) FROM reactions \
         WHERE {column} = ?1 AND time_ns >= ?2 AND time_ns < ?3 GROUP BY behavior"
    );

    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(params![id, from, to])?;
    let mut summary = Summary::default();

    while let Some(row) = rows.next()? {
        let behavior = parse_behavior(row.get_ref(0)?.as_str()?)?;
        *summary.reactions.get_mut(behavior) = row.get::<_, i64>(1)? as u64;
        *summary.distinct.get_mut(behavior) = row.get::<_, i64>(2)? as u64;
    }
    Ok(summary)
}

fn list(
    connection: &Connection,
    subject: &Subject,
    query: &RowQuery,
) -> rusqlite::Result<Vec<Row>> {
    let (column, other, id) = columns(subject);
    let (from, mut to) = bounds(query.range);
    if let Some(until) = query.until_nanos {
        // The cursor bound is inclusive and `to` exclusive.
        to = to.min(until.saturating_add(1));
    }
    let sql = format!(
        "SELECT {other}, behavior, time_ns FROM reactions \
         WHERE {column} = ?1 AND (?2 IS NULL OR behavior = ?2) AND time_ns >= ?3 AND time_ns < ?4 \
         ORDER BY time_ns DESC LIMIT ?5"
    );

    let mut statement = connection.prepare_cached(&sql)?;
    let behavior = query.behavior.map(Behavior::as_str);
    let mut rows = statement.query(params![id, behavior, from, to, query.fetch as i64])?;
    let mut listed = Vec::new();

    while let Some(row) = rows.next()? {
        listed.push(Row {
            other_id: row.get(0)?,
            behavior: parse_behavior(row.get_ref(1)?.as_str()?)?,
            time_nanos: row.get(2)?,
        });
    }
    Ok(listed)
}

fn parse_behavior(value: &str) -> rusqlite::Result<Behavior> {
    value
        .parse()
        .map_err(|error: shared::behavior::UnknownBehavior| {
            rusqlite::Error::InvalidColumnName(error.to_string())
        })
}
