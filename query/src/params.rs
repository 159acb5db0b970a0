//! Path and query parameters, checked into the filters the stores take.

use std::collections::HashMap;

use shared::{Behavior, Id, Timestamp};

use crate::error::QueryError;

/// Listing size when `limit` is absent, and the largest allowed.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Whose reactions a request is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    User(Id),
    Article(Id),
}

impl Subject {
    pub fn id(&self) -> &str {
        match self {
            Subject::User(id) | Subject::Article(id) => id.as_str(),
        }
    }
}

/// A time range: `from` inclusive, `to` exclusive, both optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// What a listing request selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListFilter {
    pub behavior: Option<Behavior>,
    pub range: TimeRange,
    pub limit: usize,
}

pub fn user(raw: String) -> Result<Subject, QueryError> {
    Id::parse(raw)
        .map(Subject::User)
        .map_err(|error| QueryError::invalid("user_id", error.to_string()))
}

pub fn article(raw: String) -> Result<Subject, QueryError> {
    Id::parse(raw)
        .map(Subject::Article)
        .map_err(|error| QueryError::invalid("article_id", error.to_string()))
}

pub fn time_range(query: &HashMap<String, String>) -> Result<TimeRange, QueryError> {
    let from = optional_time(query, "from")?;
    let to = optional_time(query, "to")?;

    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(QueryError::invalid(
            "from",
            format!("{from} is after to={to}; from must not be later than to"),
        ));
    }
    Ok(TimeRange { from, to })
}

pub fn list_filter(query: &HashMap<String, String>) -> Result<ListFilter, QueryError> {
    let behavior = match query.get("behavior") {
        None => None,
        Some(value) => Some(
            value
                .parse::<Behavior>()
                .map_err(|error| QueryError::invalid("behavior", error.to_string()))?,
        ),
    };

    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => match value.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            _ => {
                return Err(QueryError::invalid(
                    "limit",
                    format!("{value:?} is not allowed; use a whole number from 1 to {MAX_LIMIT}"),
                ));
            }
        },
    };

    Ok(ListFilter {
        behavior,
        range: time_range(query)?,
        limit,
    })
}

fn optional_time(
    query: &HashMap<String, String>,
    name: &'static str,
) -> Result<Option<Timestamp>, QueryError> {
    let Some(value) = query.get(name) else {
        return Ok(None);
    };
    let timestamp = Timestamp::parse_rfc3339_or_millis(value).map_err(|_| {
        QueryError::invalid(
            name,
            format!("{value:?} is not a time; use RFC 3339 such as 2026-01-01T00:00:00Z or epoch milliseconds"),
        )
    })?;

    // InfluxDB stores nanoseconds in a signed 64-bit integer, so times outside about 1677-2262
    // cannot be compared against.
    const LIMIT_MILLIS: i64 = 9_000_000_000_000;
    if timestamp.as_millis().abs() > LIMIT_MILLIS {
        return Err(QueryError::invalid(
            name,
            format!("{value:?} is out of range; use a time between 1800 and 2250"),
        ));
    }
    Ok(Some(timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let filter = list_filter(&query(&[])).unwrap();
        assert_eq!(filter.limit, DEFAULT_LIMIT);
        assert_eq!(filter.behavior, None);
        assert_eq!(filter.range, TimeRange::default());
    }

    #[test]
    fn rejects_bad_values_naming_the_parameter() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[("behavior", "meh")], "behavior"),
            (&[("limit", "0")], "limit"),
            (&[("limit", "1001")], "limit"),
            (&[("from", "yesterday")], "from"),
            (&[("to", "2026-13-01T00:00:00Z")], "to"),
            (
                &[
                    ("from", "2026-02-01T00:00:00Z"),
                    ("to", "2026-01-01T00:00:00Z"),
                ],
                "from",
            ),
        ];
        for (pairs, expected) in cases {
            match list_filter(&query(pairs)) {
                Err(QueryError::InvalidParameter { parameter, .. }) => {
                    assert_eq!(parameter, expected, "{pairs:?}")
                }
                other => panic!("{pairs:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn accepts_millis_and_rfc3339() {
        let range = time_range(&query(&[
            ("from", "1767225600000"),
            ("to", "2026-01-02T00:00:00Z"),
        ]))
        .unwrap();
        assert_eq!(range.from.unwrap().as_millis(), 1_767_225_600_000);
        assert_eq!(range.to.unwrap().as_millis(), 1_767_312_000_000);
    }
}
