//! Reads from InfluxDB through the v1 `/query` endpoint.
//!
//! Ids enter a statement only as the tag form the writer used (`line_protocol::tag_value`),
//! quoted by `influxql::string_literal`; names only through `influxql::identifier`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use shared::line_protocol::{
    ARTICLE_ID, ARTICLE_MEASUREMENT, BEHAVIOR, USER_ID, USER_MEASUREMENT, tag_value,
};
use shared::reaction::NANOS_PER_MILLI;
use shared::store::InfluxConfig;
use shared::{Behavior, influxql};

use super::{Row, RowQuery, Summary};
use crate::error::QueryError;
use crate::params::{Subject, TimeRange};

pub struct InfluxStore {
    client: reqwest::Client,
    config: InfluxConfig,
}

#[derive(Deserialize)]
struct QueryResponse {
    #[serde(default)]
    results: Vec<StatementResult>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct StatementResult {
    #[serde(default)]
    series: Vec<Series>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    tags: HashMap<String, String>,
    #[serde(default)]
    values: Vec<Vec<Value>>,
}

impl InfluxStore {
    pub fn new(config: InfluxConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(InfluxStore { client, config })
    }

    pub async fn summary(
        &self,
        subject: &Subject,
        range: TimeRange,
    ) -> Result<Summary, QueryError> {
        let series = self.run(&summary_statement(subject, range)).await?;
        let mut summary = Summary::default();

        for entry in series {
            let behavior = parse_behavior(entry.tags.get(BEHAVIOR).map(String::as_str))?;
            let row = entry
                .values
                .first()
                .ok_or_else(|| QueryError::Store("a summary series has no values".to_owned()))?;
            // Columns: time, reactions, distinct_ids.
            *summary.reactions.get_mut(behavior) = count_at(row, 1)?;
            *summary.distinct.get_mut(behavior) = count_at(row, 2)?;
        }
        Ok(summary)
    }

    pub async fn list(&self, subject: &Subject, query: &RowQuery) -> Result<Vec<Row>, QueryError> {
        let series = self.run(&list_statement(subject, query)).await?;
        let mut rows = Vec::new();

        for entry in series {
            for values in entry.values {
                // Columns: time, the other id, behavior.
                let nanos = values
                    .first()
                    .and_then(Value::as_i64)
                    .ok_or_else(|| unexpected("time", &values))?;
                let other_id = values
                    .get(1)
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected("id", &values))?;
                let behavior = parse_behavior(values.get(2).and_then(Value::as_str))?;
                rows.push(Row {
                    other_id: other_id.to_owned(),
                    behavior,
                    time_nanos: nanos,
                });
            }
        }
        Ok(rows)
    }

    pub async fn ping(&self) -> Result<(), String> {
        match self.client.get(self.config.ping_url()).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("InfluxDB ping returned {}", response.status())),
            Err(error) => Err(format!("InfluxDB is unreachable: {error}")),
        }
    }

    /// Runs one statement and returns its series; an error anywhere in the response is an
    /// error, never an empty result.
    async fn run(&self, statement: &str) -> Result<Vec<Series>, QueryError> {
        let mut request = self
            .client
            .get(self.config.query_url())
            .query(&[("q", statement), ("epoch", "ns")]);
        if let Some(authorization) = self.config.authorization() {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }

        let response = request.send().await.map_err(|error| {
            if error.is_timeout() {
                QueryError::StoreUnavailable("InfluxDB query timed out".to_owned())
            } else {
                QueryError::StoreUnavailable(format!(
                    "cannot reach InfluxDB: {}",
                    error.without_url()
                ))
            }
        })?;

        let status = response.status();
        if matches!(status.as_u16(), 502..=504) {
            return Err(QueryError::StoreUnavailable(format!(
                "InfluxDB returned {status}"
            )));
        }

        let text = response.text().await.map_err(|error| {
            QueryError::StoreUnavailable(format!("reading the InfluxDB response failed: {error}"))
        })?;
        let body: QueryResponse = serde_json::from_str(&text).map_err(|error| {
            QueryError::Store(format!(
                "InfluxDB returned {status} with an unreadable body: {error}"
            ))
        })?;

        if let Some(error) = body.error {
            return Err(QueryError::Store(format!(
                "InfluxDB returned {status}: {error}"
            )));
        }
        if !status.is_success() {
            return Err(QueryError::Store(format!("InfluxDB returned {status}")));
        }

        let mut series = Vec::new();
        for result in body.results {
            if let Some(error) = result.error {
                return Err(QueryError::Store(format!(
                    "InfluxDB statement failed: {error}"
                )));
            }
            series.extend(result.series);
        }
        Ok(series)
    }
}

/// Returns the measurement, the id tag and the other id's field for a subject.
fn layout(subject: &Subject) -> (&'static str, &'static str, &'static str, &shared::Id) {
    match subject {
        Subject::User(id) => (USER_MEASUREMENT, USER_ID, ARTICLE_ID, id),
        Subject::Article(id) => (ARTICLE_MEASUREMENT, ARTICLE_ID, USER_ID, id),
    }
}

fn summary_statement(subject: &Subject, range: TimeRange) -> String {
    let (measurement, tag, field, id) = layout(subject);
    let field = influxql::identifier(field);
    format!(
        "SELECT count({field}) AS reactions, count(distinct({field})) AS distinct_ids FROM {} WHERE {} = {}{} GROUP BY {}",
        influxql::identifier(measurement),
        influxql::identifier(tag),
        influxql::string_literal(&tag_value(id)),
        time_condition(range, None),
        influxql::identifier(BEHAVIOR),
    )
}

fn list_statement(subject: &Subject, query: &RowQuery) -> String {
    let (measurement, tag, field, id) = layout(subject);
    let behavior = match query.behavior {
        Some(behavior) => format!(
            " AND {} = {}",
            influxql::identifier(BEHAVIOR),
            influxql::string_literal(behavior.as_str())
        ),
        None => String::new(),
    };
    format!(
        "SELECT {}, {} FROM {} WHERE {} = {}{behavior}{} ORDER BY time DESC LIMIT {}",
        influxql::identifier(field),
        influxql::identifier(BEHAVIOR),
        influxql::identifier(measurement),
        influxql::identifier(tag),
        influxql::string_literal(&tag_value(id)),
        time_condition(query.range, query.until_nanos),
        query.fetch,
    )
}

/// Returns the time bounds as integer nanoseconds, which InfluxQL reads as epoch nanoseconds.
fn time_condition(range: TimeRange, until_nanos: Option<i64>) -> String {
    let mut condition = String::new();
    if let Some(until) = until_nanos {
        condition.push_str(&format!(" AND time <= {until}"));
    }
    if let Some(from) = range.from {
        condition.push_str(&format!(
            " AND time >= {}",
            from.as_millis() * NANOS_PER_MILLI
        ));
    }
    if let Some(to) = range.to {
        condition.push_str(&format!(" AND time < {}", to.as_millis() * NANOS_PER_MILLI));
    }
    condition
}

fn parse_behavior(value: Option<&str>) -> Result<Behavior, QueryError> {
    let value = value.ok_or_else(|| QueryError::Store("a result has no behavior".to_owned()))?;
    value
        .parse()
        .map_err(|_| QueryError::Store(format!("the store holds an unknown behavior {value:?}")))
}

fn count_at(row: &[Value], index: usize) -> Result<u64, QueryError> {
    row.get(index)
        .and_then(Value::as_u64)
        .ok_or_else(|| unexpected("count", row))
}

fn unexpected(what: &str, row: &[Value]) -> QueryError {
    QueryError::Store(format!(
        "unexpected {what} in InfluxDB row {}",
        Value::Array(row.to_vec())
    ))
}

#[cfg(test)]
mod tests {
    use shared::{Id, Timestamp};

    use super::*;

    #[test]
    fn summary_statement_quotes_the_id() {
        let subject = Subject::User(Id::parse("x' OR 'a'='a").unwrap());
        assert_eq!(
            summary_statement(&subject, TimeRange::default()),
            "SELECT count(\"article_id\") AS reactions, count(distinct(\"article_id\")) AS distinct_ids \
             FROM \"reactions_by_user\" WHERE \"user_id\" = 'x\\'%20OR%20\\'a\\'%3D\\'a' GROUP BY \"behavior\""
        );
    }

    #[test]
    fn list_statement_with_filters() {
        let subject = Subject::Article(Id::parse("a-7").unwrap());
        let query = RowQuery {
            behavior: Some(Behavior::Cry),
            range: TimeRange {
                from: Some(Timestamp::from_millis(1)),
                to: Some(Timestamp::from_millis(2)),
            },
            until_nanos: Some(1_500_000),
            fetch: 5,
        };
        assert_eq!(
            list_statement(&subject, &query),
            "SELECT \"user_id\", \"behavior\" FROM \"reactions_by_article\" WHERE \"article_id\" = 'a-7' \
             AND \"behavior\" = 'cry' AND time <= 1500000 AND time >= 1000000 AND time < 2000000 ORDER BY time DESC LIMIT 5"
        );
    }
}
