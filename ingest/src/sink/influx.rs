//! Writes batches to InfluxDB through the v1 `/write` endpoint as line protocol.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use shared::line_protocol::encode_batch;
use shared::store::InfluxConfig;
use shared::{Behavior, Reaction};

use super::{Sink, SinkError, Written};

/// Idle connections are closed after this long. InfluxDB's own idle timeout is longer (3
/// minutes in 1.x), so the client never reuses a connection the server is about to close.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A clone shares the connection pool, so all writer threads share one pool.
#[derive(Clone)]
pub struct InfluxSink {
    client: Client,
    config: InfluxConfig,
}

impl InfluxSink {
    pub fn new(config: InfluxConfig) -> anyhow::Result<Self> {
        let client = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build()?;
        Ok(InfluxSink { client, config })
    }

    fn post(&self, url: reqwest::Url, body: Vec<u8>) -> reqwest::Result<Response> {
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(body);
        if let Some(authorization) = self.config.authorization() {
            request = request.header(AUTHORIZATION, authorization);
        }
        request.send()
    }

    /// Creates the database after the server reported it missing. Failure is only logged: the
    /// write that follows reports the real problem.
    fn create_database(&self) {
        let mut url = self.config.query_url();
        url.query_pairs_mut()
            .append_pair("q", &self.config.create_database_statement());
        match self.post(url, Vec::new()) {
            Ok(response) if response.status().is_success() => {
                tracing::info!(database = %self.config.database, "created the InfluxDB database");
            }
            Ok(response) => {
                tracing::warn!(database = %self.config.database, status = %response.status(), "could not create the InfluxDB database");
            }
            Err(error) => {
                tracing::warn!(database = %self.config.database, error = %error, "could not create the InfluxDB database");
            }
        }
    }
}

impl Sink for InfluxSink {
    fn write(&mut self, batch: &[Reaction]) -> Result<Written, SinkError> {
        let body = encode_batch(batch, Vec::with_capacity(batch.len() * 160));
        let response =
            self.post(self.config.write_url(), body)
                .map_err(|error| SinkError::Unavailable {
                    reason: describe_transport_error(&error),
                    retry_after: None,
                })?;

        let status = response.status();
        if status.is_success() {
            return Ok(Written {
                overwritten: count_overwritten(batch),
                ..Written::default()
            });
        }

        let retry_after = retry_after_of(&response);
        let message = error_message(response);
        classify(status, message, retry_after, batch.len(), || {
            self.create_database()
        })
    }
}

/// Sorts a failed `/write` response into what the writer should do with the batch.
fn classify(
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
    batch_len: usize,
    create_database: impl FnOnce(),
) -> Result<Written, SinkError> {
    match status {
        StatusCode::BAD_REQUEST if message.contains("partial write") => {
            // InfluxDB stored every point but the ones it names, as "dropped=N" (points, and a
            // reaction is two points).
            let dropped_points = dropped_points(&message).unwrap_or(batch_len * 2);
            Ok(Written {
                rejected: dropped_points.min(batch_len),
                rejection: Some(message),
                overwritten: 0,
            })
        }
        StatusCode::BAD_REQUEST => Err(SinkError::Rejected(message)),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(SinkError::Unauthorized(format!("{status}: {message}")))
        }
        StatusCode::NOT_FOUND if message.contains("database not found") => {
            create_database();
            Err(SinkError::Unavailable {
                reason: message,
                retry_after: None,
            })
        }
        StatusCode::PAYLOAD_TOO_LARGE => Err(SinkError::TooLarge),
        status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
            Err(SinkError::Unavailable {
                reason: format!("{status}: {message}"),
                retry_after,
            })
        }
        status => Err(SinkError::Rejected(format!("{status}: {message}"))),
    }
}

/// Counts reactions whose point a later, different reaction of the batch replaces in
/// InfluxDB. Ingest separates the reactions of one request; this catches the rare clash
/// between requests that were batched together (see docs/architecture.md).
fn count_overwritten(batch: &[Reaction]) -> usize {
    let mut by_user: HashMap<(&str, Behavior, i64), &str> = HashMap::with_capacity(batch.len());
    let mut by_article: HashMap<(&str, Behavior, i64), &str> = HashMap::with_capacity(batch.len());
    let mut overwritten = 0;

    for reaction in batch {
        let (user, article, time) = (
            reaction.user_id.as_str(),
            reaction.article_id.as_str(),
            reaction.time_nanos(),
        );
        let user_clash = by_user
            .insert((user, reaction.behavior, time), article)
            .is_some_and(|previous| previous != article);
        let article_clash = by_article
            .insert((article, reaction.behavior, time), user)
            .is_some_and(|previous| previous != user);
        if user_clash || article_clash {
            overwritten += 1;
        }
    }
    overwritten
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "request timed out".to_owned()
    } else if error.is_connect() {
        format!("cannot connect: {error}")
    } else {
        // The URL carries nothing secret, but repeating it on every line adds only noise.
        let text = error.to_string();
        match error.url() {
            Some(url) => text.replace(&format!(" ({url})"), ""),
            None => text,
        }
    }
}

fn retry_after_of(response: &Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Returns the `error` field of an InfluxDB error body, or the body itself, at most 512 bytes.
fn error_message(response: Response) -> String {
    let text = response.text().unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|body| {
            body.get("error")
                .and_then(|error| error.as_str())
                .map(str::to_owned)
        })
        .unwrap_or(text);
    truncate(message, 512)
}

fn truncate(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn dropped_points(message: &str) -> Option<usize> {
    let start = message.rfind("dropped=")? + "dropped=".len();
    let digits: String = message[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_status(status: u16, message: &str) -> Result<Written, SinkError> {
        classify(
            StatusCode::from_u16(status).unwrap(),
            message.to_owned(),
            None,
            10,
            || {},
        )
    }

    #[test]
    fn partial_write_counts_dropped_points() {
        let written = classify_status(
            400,
            "partial write: field type conflict: input field \"article_id\" dropped=3",
        )
        .unwrap();
        assert_eq!(written.rejected, 3);
    }

    #[test]
    fn retryable_statuses() {
        for status in [429, 500, 503] {
            assert!(
                matches!(
                    classify_status(status, "x"),
                    Err(SinkError::Unavailable { .. })
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn permanent_and_special_statuses() {
        assert!(matches!(
            classify_status(400, "unable to parse"),
            Err(SinkError::Rejected(_))
        ));
        assert!(matches!(
            classify_status(401, "auth"),
            Err(SinkError::Unauthorized(_))
        ));
        assert!(matches!(
            classify_status(403, "auth"),
            Err(SinkError::Unauthorized(_))
        ));
        assert!(matches!(
            classify_status(413, "big"),
            Err(SinkError::TooLarge)
        ));
    }

    #[test]
    fn clashing_points_in_a_batch_are_counted() {
        let at = shared::Timestamp::from_millis(1_000);
        let reaction = |user: &str, article: &str| {
            let mut reaction = Reaction::with_client_time(
                shared::Id::parse(user).unwrap(),
                shared::Id::parse(article).unwrap(),
                Behavior::Like,
                at,
            );
            reaction.offset_nanos = 7;
            reaction
        };
        let batch = [
            reaction("u1", "a"),
            reaction("u1", "a"),
            reaction("u2", "a"),
            reaction("u1", "b"),
        ];
        assert_eq!(count_overwritten(&batch), 2);
    }

    #[test]
    fn missing_database_is_created_then_retried() {
        let mut created = false;
        let outcome = classify(
            StatusCode::NOT_FOUND,
            "database not found: \"r\"".to_owned(),
            None,
            1,
            || created = true,
        );
        assert!(created);
        assert!(matches!(outcome, Err(SinkError::Unavailable { .. })));
    }
}
