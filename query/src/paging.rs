//! Cursor pagination for listings, identical on both stores.
//!
//! Rows are ordered newest first, and rows with the same store time by behavior and then by
//! id. Within one series InfluxDB keeps one point per time, and a user's or an article's
//! listing reads at most four series (one per behavior), so at most four rows share a time.
//! A cursor holds the time of the last row returned and how many rows at that time the pages
//! so far returned; the next page asks the store for rows at or before that time and skips
//! those. A checksum binds the cursor to its query, so a cursor that was altered or taken from
//! another query is rejected instead of silently giving wrong pages.

use std::fmt::Write;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::QueryError;
use crate::params::{ListFilter, Subject};
use crate::store::Row;

/// Maximum number of rows that share one store time in one listing: one per behavior.
const MAX_TIES: usize = 4;

/// Position where the previous page stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub time_nanos: i64,
    /// Rows at `time_nanos` already returned.
    pub skip: usize,
}

/// Store request for one page: rows at or before `until_nanos`, at most `fetch` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub until_nanos: Option<i64>,
    pub fetch: usize,
}

/// One page and the cursor of the next, if there may be more.
pub struct Page {
    pub rows: Vec<Row>,
    pub next: Option<String>,
}

/// Returns the store window for a page of `limit` rows after `cursor`.
pub fn window(cursor: Option<Cursor>, limit: usize) -> Window {
    Window {
        until_nanos: cursor.map(|cursor| cursor.time_nanos),
        fetch: limit + cursor.map_or(0, |cursor| cursor.skip) + MAX_TIES,
    }
}

/// Builds the page from the rows the store returned for `window(cursor, limit)`.
pub fn page(
    mut rows: Vec<Row>,
    cursor: Option<Cursor>,
    limit: usize,
    fetch: usize,
    fingerprint: u64,
) -> Page {
    let store_had_more = rows.len() >= fetch;
    rows.sort_by(|a, b| {
        b.time_nanos
            .cmp(&a.time_nanos)
            .then_with(|| a.behavior.as_str().cmp(b.behavior.as_str()))
            .then_with(|| a.other_id.cmp(&b.other_id))
    });

    // When the store cut the result at `fetch` rows, the rows at the oldest time returned may
    // be only some of those at that time, so they are left for the next page.
    if store_had_more && let Some(oldest) = rows.last().map(|row| row.time_nanos) {
        rows.retain(|row| row.time_nanos != oldest);
    }

    let skip = match cursor {
        Some(cursor) => rows
            .iter()
            .take_while(|row| row.time_nanos == cursor.time_nanos)
            .count()
            .min(cursor.skip),
        None => 0,
    };
    let mut remaining = rows.split_off(skip);
    let more_fetched = remaining.len() > limit;
    remaining.truncate(limit);

    let next = if more_fetched || (store_had_more && remaining.len() == limit) {
        remaining.last().map(|last| {
            let at_same_time = remaining
                .iter()
                .filter(|row| row.time_nanos == last.time_nanos)
                .count();
            let carried = match cursor {
                Some(cursor) if cursor.time_nanos == last.time_nanos => cursor.skip,
                _ => 0,
            };
            encode(
                Cursor {
                    time_nanos: last.time_nanos,
                    skip: carried + at_same_time,
                },
                fingerprint,
            )
        })
    } else {
        None
    };

    Page {
        rows: remaining,
        next,
    }
}

/// Returns a hash of everything that defines a listing apart from its position.
pub fn fingerprint(subject: &Subject, filter: &ListFilter) -> u64 {
    let key = format!(
        "{:?}|{:?}|{:?}|{:?}",
        subject,
        filter.behavior,
        filter.range.from.map(|t| t.as_millis()),
        filter.range.to.map(|t| t.as_millis())
    );
    xxh3_64(key.as_bytes())
}

/// Encodes a cursor as 40 hex digits: time, skip count and checksum.
pub fn encode(cursor: Cursor, fingerprint: u64) -> String {
    let mut text = String::with_capacity(40);
    let _ = write!(
        text,
        "{:016x}{:08x}",
        cursor.time_nanos as u64, cursor.skip as u32
    );
    let checksum = xxh3_64(format!("{text}{fingerprint:016x}").as_bytes());
    let _ = write!(text, "{checksum:016x}");
    text
}

/// Decodes a cursor of this listing; anything else is a 400 naming `cursor`.
pub fn decode(text: &str, fingerprint: u64) -> Result<Cursor, QueryError> {
    let invalid = || {
        QueryError::invalid(
            "cursor",
            "is not a cursor of this listing; pass next_cursor from the previous page unchanged",
        )
    };
    if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }

    let time = u64::from_str_radix(&text[..16], 16).map_err(|_| invalid())?;
    let skip = u32::from_str_radix(&text[16..24], 16).map_err(|_| invalid())?;
    let cursor = Cursor {
        time_nanos: time as i64,
        skip: skip as usize,
    };
    if encode(cursor, fingerprint) != text.to_ascii_lowercase() || cursor.skip > MAX_TIES {
        return Err(invalid());
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use shared::Behavior;

    use super::*;

    fn row(time_nanos: i64, behavior: Behavior, id: &str) -> Row {
        Row {
            other_id: id.to_owned(),
            behavior,
            time_nanos,
        }
    }

    /// Simulates a store holding `all` rows and pages through them.
    fn walk(all: &[Row], limit: usize) -> Vec<Row> {
        let mut seen = Vec::new();
        let mut cursor = None;
        for _ in 0..1000 {
            let window = window(cursor, limit);
            let mut fetched: Vec<Row> = all
                .iter()
                .filter(|row| {
                    window
                        .until_nanos
                        .is_none_or(|until| row.time_nanos <= until)
                })
                .cloned()
                .collect();
            fetched.sort_by_key(|row| std::cmp::Reverse(row.time_nanos));
            fetched.truncate(window.fetch);

            let page = page(fetched, cursor, limit, window.fetch, 7);
            assert!(page.rows.len() <= limit);
            seen.extend(page.rows);
            match page.next {
                Some(next) => cursor = Some(decode(&next, 7).unwrap()),
                None => return seen,
            }
        }
        panic!("paging did not end");
    }

    #[test]
    fn pages_cover_every_row_once_with_ties() {
        let mut all = Vec::new();
        for time in 0..30 {
            for (i, behavior) in Behavior::ALL.iter().enumerate().take(1 + time as usize % 4) {
                all.push(row(time, *behavior, &format!("id-{i}")));
            }
        }
        for limit in [1, 2, 3, 4, 5, 7, 100] {
            let seen = walk(&all, limit);
            assert_eq!(seen.len(), all.len(), "limit {limit}");
            let unique: std::collections::HashSet<_> =
                seen.iter().map(|r| (r.time_nanos, r.behavior)).collect();
            assert_eq!(unique.len(), all.len(), "limit {limit} repeated a row");
        }
    }

    #[test]
    fn tampered_cursor_is_rejected() {
        let text = encode(
            Cursor {
                time_nanos: 42,
                skip: 1,
            },
            7,
        );
        assert!(decode(&text, 7).is_ok());
        assert!(decode(&text, 8).is_err(), "a cursor of another listing");
        let mut altered = text.clone().into_bytes();
        altered[15] = if altered[15] == b'0' { b'1' } else { b'0' };
        assert!(decode(std::str::from_utf8(&altered).unwrap(), 7).is_err());
        assert!(decode("garbage", 7).is_err());
    }
}
