//! The embedded store: one SQLite file in WAL mode that ingest writes and query reads.
//!
//! A reaction's row key is the same identity InfluxDB uses for its points (ids, behavior and
//! nanosecond time), so `INSERT OR IGNORE` gives the same overwrite and duplicate rules on
//! both stores.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use crate::Reaction;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reactions (
    user_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    behavior TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    PRIMARY KEY (user_id, time_ns, article_id, behavior)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reactions_by_article ON reactions (article_id, time_ns, user_id, behavior);
";

/// How long a connection waits for the other process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the store for writing, creating the directory, the file and the schema if needed.
pub fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(directory) = path.parent() {
        std::fs::create_dir_all(directory).map_err(|error| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!("cannot create {}: {error}", directory.display())),
            )
        })?;
    }

    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode survives a process crash; only a power loss can drop the last commits.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.execute_batch(SCHEMA)?;
    Ok(connection)
}

/// Opens the store for reading. The file and schema are created when query starts before
/// ingest has written anything, so that an empty store answers with zeros.
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    if !path.exists() {
        drop(open_writer(path)?);
    }

    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

/// Writes a batch in one transaction. Returns how many rows were new; the rest repeated a
/// reaction already stored.
pub fn insert_batch(
    connection: &mut Connection,
    reactions: &[Reaction],
) -> rusqlite::Result<usize> {
    let transaction = connection.transaction()?;
    let mut inserted = 0;

    {
        let mut statement = transaction.prepare_cached(
            "INSERT OR IGNORE INTO reactions (user_id, article_id, behavior, time_ns) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for reaction in reactions {
            inserted += statement.execute(params![
                reaction.user_id.as_str(),
                reaction.article_id.as_str(),
                reaction.behavior.as_str(),
                reaction.time_nanos(),
            ])?;
        }
    }

    transaction.commit()?;
    Ok(inserted)
}
