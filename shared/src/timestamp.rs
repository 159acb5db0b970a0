//! Reaction timestamps: milliseconds since the Unix epoch, in UTC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A point in time with millisecond precision. Finer digits in an RFC 3339 string are
/// truncated, because millisecond is the precision the API stores and returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp {
    millis: i64,
}

/// Why a timestamp string or number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("is not an RFC 3339 date-time such as 2026-01-01T00:00:00.123Z")]
    NotRfc3339,
    #[error("is not an integer number of milliseconds since 1970-01-01T00:00:00Z")]
    NotInteger,
    #[error("is {0}, before the earliest accepted time {1}")]
    TooEarly(Timestamp, Timestamp),
    #[error("is {0}, more than {1} s ahead of the server clock")]
    TooFarAhead(Timestamp, u64),
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_millis() as i64,
            Err(before) => -(before.duration().as_millis() as i64),
        };
        Timestamp { millis }
    }

    pub fn as_millis(self) -> i64 {
        self.millis
    }

    /// Parses an RFC 3339 date-time with any offset, for example `2026-01-01T00:00:00.123Z`.
    pub fn parse_rfc3339(value: &str) -> Result<Self, TimestampError> {
        let parsed =
            OffsetDateTime::parse(value, &Rfc3339).map_err(|_| TimestampError::NotRfc3339)?;
        let nanos = parsed.unix_timestamp_nanos();
        Ok(Timestamp {
            millis: nanos.div_euclid(1_000_000) as i64,
        })
    }

    /// Parses either form the API accepts for a time: RFC 3339 or integer epoch milliseconds.
    pub fn parse_rfc3339_or_millis(value: &str) -> Result<Self, TimestampError> {
        if !value.is_empty()
            && value
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
        {
            return value
                .parse::<i64>()
                .map(Timestamp::from_millis)
                .map_err(|_| TimestampError::NotInteger);
        }
        Self::parse_rfc3339(value)
    }

    /// Formats as RFC 3339 in UTC with exactly three fractional digits.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.millis) * 1_000_000;
        match OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(time) => time
                .to_offset(UtcOffset::UTC)
                .format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
                .unwrap_or_else(|_| self.millis.to_string()),
            Err(_) => self.millis.to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// The range of client timestamps that ingest accepts. The bounds keep every stored time well
/// inside what InfluxDB can represent in nanoseconds (1677 to 2262).
#[derive(Clone, Copy, Debug)]
pub struct TimeWindow {
    pub earliest: Timestamp,
    pub max_ahead: Duration,
}

impl Default for TimeWindow {
    fn default() -> Self {
        TimeWindow {
            // 2000-01-01T00:00:00Z
            earliest: Timestamp::from_millis(946_684_800_000),
            max_ahead: Duration::from_secs(600),
        }
    }
}

impl TimeWindow {
    pub fn check(&self, timestamp: Timestamp, now: Timestamp) -> Result<(), TimestampError> {
        if timestamp < self.earliest {
            return Err(TimestampError::TooEarly(timestamp, self.earliest));
        }

        let latest = now.millis.saturating_add(self.max_ahead.as_millis() as i64);
        if timestamp.millis > latest {
            return Err(TimestampError::TooFarAhead(
                timestamp,
                self.max_ahead.as_secs(),
            ));
        }

        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let parsed = Timestamp::parse_rfc3339("2026-01-01T00:00:00.123Z").unwrap();
        assert_eq!(parsed.as_millis(), 1_767_225_600_123);
        assert_eq!(parsed.to_rfc3339(), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn rfc3339_offset_and_truncation() {
        let parsed = Timestamp::parse_rfc3339("2026-01-01T02:00:00.123999+02:00").unwrap();
        assert_eq!(parsed.to_rfc3339(), "2026-01-01T00:00:00.123Z");
    }

    #[test]
    fn rejects_malformed_dates() {
        for value in ["2026-01-01", "yesterday", "2026-13-01T00:00:00Z", ""] {
            assert_eq!(
                Timestamp::parse_rfc3339(value),
                Err(TimestampError::NotRfc3339),
                "{value}"
            );
        }
    }

    #[test]
    fn parses_millis_or_rfc3339() {
        assert_eq!(
            Timestamp::parse_rfc3339_or_millis("1767225600123")
                .unwrap()
                .as_millis(),
            1_767_225_600_123
        );
        assert_eq!(
            Timestamp::parse_rfc3339_or_millis("2026-01-01T00:00:00.123Z")
                .unwrap()
                .as_millis(),
            1_767_225_600_123
        );
        assert!(Timestamp::parse_rfc3339_or_millis("99999999999999999999").is_err());
    }

    #[test]
    fn window_bounds() {
        let window = TimeWindow::default();
        let now = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        assert!(
            window
                .check(Timestamp::from_millis(946_684_800_000), now)
                .is_ok()
        );
        assert!(
            window
                .check(Timestamp::from_millis(946_684_799_999), now)
                .is_err()
        );
        assert!(
            window
                .check(Timestamp::from_millis(now.as_millis() + 600_000), now)
                .is_ok()
        );
        assert!(
            window
                .check(Timestamp::from_millis(now.as_millis() + 600_001), now)
                .is_err()
        );
    }
}
