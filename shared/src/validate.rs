//! Turns a client's decoded JSON into reactions, or into one error per bad field.

use serde::Serialize;
use serde_json::Value;

use crate::timestamp::{TimeWindow, TimestampError};
use crate::{Behavior, Id, Reaction, Timestamp};

/// One problem with one item of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Position of the item in the request (0 for a single object).
    pub index: usize,
    /// The offending field, or `None` when the item itself is wrong.
    pub field: Option<&'static str>,
    pub reason: String,
}

/// How validation stamps reactions that arrive without a timestamp.
pub struct Stamp<'a> {
    pub now: Timestamp,
    pub window: TimeWindow,
    /// Yields a new number for every server-stamped reaction.
    pub next_sequence: &'a dyn Fn() -> u64,
}

/// Validates one reaction object. Every problem is reported, not only the first.
pub fn validate_item(
    index: usize,
    item: &Value,
    stamp: &Stamp<'_>,
) -> Result<Reaction, Vec<FieldError>> {
    let Some(object) = item.as_object() else {
        return Err(vec![FieldError {
            index,
            field: None,
            reason: format!("expected a reaction object, found {}", kind_of(item)),
        }]);
    };

    let mut errors = Vec::new();
    let mut fail = |field: &'static str, reason: String| {
        errors.push(FieldError {
            index,
            field: Some(field),
            reason,
        })
    };

    let user_id = parse_id(object.get("user_id")).map_err(|reason| fail("user_id", reason));
    let article_id =
        parse_id(object.get("article_id")).map_err(|reason| fail("article_id", reason));
    let behavior =
        parse_behavior(object.get("behavior")).map_err(|reason| fail("behavior", reason));
    let timestamp =
        parse_timestamp(object.get("timestamp"), stamp).map_err(|reason| fail("timestamp", reason));

    match (user_id, article_id, behavior, timestamp) {
        (Ok(user_id), Ok(article_id), Ok(behavior), Ok(Some(timestamp))) => Ok(
            Reaction::with_client_time(user_id, article_id, behavior, timestamp),
        ),
        (Ok(user_id), Ok(article_id), Ok(behavior), Ok(None)) => Ok(Reaction::with_server_time(
            user_id,
            article_id,
            behavior,
            stamp.now,
            (stamp.next_sequence)(),
        )),
        _ => Err(errors),
    }
}

/// Validates every item; returns all reactions, or every error of every item.
pub fn validate_all<'v>(
    items: impl IntoIterator<Item = &'v Value>,
    stamp: &Stamp<'_>,
) -> Result<Vec<Reaction>, Vec<FieldError>> {
    let mut reactions = Vec::new();
    let mut errors = Vec::new();

    for (index, item) in items.into_iter().enumerate() {
        match validate_item(index, item, stamp) {
            Ok(reaction) if errors.is_empty() => reactions.push(reaction),
            Ok(_) => {}
            Err(mut item_errors) => errors.append(&mut item_errors),
        }
    }

    if errors.is_empty() {
        crate::reaction::separate_store_times(&mut reactions);
        Ok(reactions)
    } else {
        Err(errors)
    }
}

fn parse_id(value: Option<&Value>) -> Result<Id, String> {
    match value {
        None | Some(Value::Null) => Err("is required".to_owned()),
        Some(Value::String(text)) => Id::parse(text.as_str()).map_err(|error| error.to_string()),
        Some(other) => Err(format!("must be a string, found {}", kind_of(other))),
    }
}

fn parse_behavior(value: Option<&Value>) -> Result<Behavior, String> {
    match value {
        None | Some(Value::Null) => Err(format!("is required; allowed: {}", Behavior::ALLOWED)),
        Some(Value::String(text)) => text.parse::<Behavior>().map_err(|error| error.to_string()),
        Some(other) => Err(format!(
            "must be one of {} as a string, found {}",
            Behavior::ALLOWED,
            kind_of(other)
        )),
    }
}

/// Returns `None` when the client sent no timestamp, so the server's receive time applies.
fn parse_timestamp(value: Option<&Value>, stamp: &Stamp<'_>) -> Result<Option<Timestamp>, String> {
    let timestamp = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => Timestamp::parse_rfc3339(text),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(Timestamp::from_millis)
            .ok_or(TimestampError::NotInteger),
        Some(other) => {
            return Err(format!(
                "must be an RFC 3339 string or integer epoch milliseconds, found {}",
                kind_of(other)
            ));
        }
    }
    .map_err(|error| error.to_string())?;

    stamp
        .window
        .check(timestamp, stamp.now)
        .map_err(|error| error.to_string())?;
    Ok(Some(timestamp))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use serde_json::json;

    use super::*;

    fn check(item: Value) -> Result<Reaction, Vec<FieldError>> {
        let counter = AtomicU64::new(0);
        let next = || counter.fetch_add(1, Ordering::Relaxed);
        let stamp = Stamp {
            now: Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap(),
            window: TimeWindow::default(),
            next_sequence: &next,
        };
        validate_item(0, &item, &stamp)
    }

    fn fields(errors: Vec<FieldError>) -> Vec<Option<&'static str>> {
        errors.into_iter().map(|error| error.field).collect()
    }

    #[test]
    fn accepts_rfc3339_and_millis() {
        let text = check(
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "2026-01-01T00:00:00.123Z"}),
        );
        let millis = check(
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": 1_767_225_600_123_i64}),
        );
        assert_eq!(text.unwrap(), millis.unwrap());
    }

    #[test]
    fn missing_timestamp_uses_receive_time() {
        let reaction =
            check(json!({"user_id": "u", "article_id": "a", "behavior": "cry"})).unwrap();
        assert_eq!(reaction.timestamp.to_rfc3339(), "2026-06-01T00:00:00.000Z");
    }

    #[test]
    fn reports_every_bad_field() {
        let errors = check(json!({"user_id": 1, "behavior": "meh", "timestamp": 1.5})).unwrap_err();
        assert_eq!(
            fields(errors),
            vec![
                Some("user_id"),
                Some("article_id"),
                Some("behavior"),
                Some("timestamp")
            ]
        );
    }

    #[test]
    fn rejects_non_object_item() {
        let errors = check(json!(["u", "a"])).unwrap_err();
        assert_eq!(fields(errors), vec![None]);
    }

    #[test]
    fn rejects_timestamp_outside_window() {
        let early = check(
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "1999-12-31T23:59:59Z"}),
        );
        let ahead = check(
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "2026-06-01T00:10:01Z"}),
        );
        assert_eq!(fields(early.unwrap_err()), vec![Some("timestamp")]);
        assert_eq!(fields(ahead.unwrap_err()), vec![Some("timestamp")]);
    }
}
