//! Writes batches to the embedded SQLite store, one transaction per batch.

use std::path::Path;

use rusqlite::{Connection, ErrorCode};
use shared::Reaction;
use shared::embedded;

use super::{Sink, SinkError, Written};

pub struct SqliteSink {
    connection: Connection,
}

impl SqliteSink {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let connection = embedded::open_writer(path).map_err(|error| {
            anyhow::anyhow!("cannot open the embedded store {}: {error}", path.display())
        })?;
        Ok(SqliteSink { connection })
    }
}

impl Sink for SqliteSink {
    fn write(&mut self, batch: &[Reaction]) -> Result<Written, SinkError> {
        match embedded::insert_batch(&mut self.connection, batch) {
            Ok(_) => Ok(Written::default()),
            Err(error) => {
                let reason = error.to_string();
                match error.sqlite_error_code() {
                    // A full or read-only disk, a lock held too long: all can clear up, and the
                    // batch stays valid, so every failure is retried.
                    Some(ErrorCode::TooBig) => Err(SinkError::TooLarge),
                    _ => Err(SinkError::Unavailable {
                        reason,
                        retry_after: None,
                    }),
                }
            }
        }
    }
}
