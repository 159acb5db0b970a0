//! Direct writes of generated reactions to a store, bypassing ingest: line protocol to
//! InfluxDB's `/write`, or `shared::embedded::insert_batch` transactions to SQLite.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::Connection;
use shared::Reaction;
use shared::influxql::identifier;
use shared::line_protocol::{ARTICLE_MEASUREMENT, USER_MEASUREMENT, encode_batch};
use shared::store::EMBEDDED_FILE;

/// Attempts per InfluxDB write; a server busy compacting can time out a request now and then.
const WRITE_ATTEMPTS: u32 = 5;

/// Time limit for one InfluxDB request. Counting millions of points takes several seconds.
const INFLUX_TIMEOUT: Duration = Duration::from_secs(300);

/// Where generated reactions go.
pub enum Sink {
    Influx(InfluxSink),
    /// SQLite has one writer at a time, so threads take turns on the connection.
    Embedded(Mutex<Connection>),
}

/// Reactions counted in the store, per read path.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct Stored {
    pub by_user: u64,
    pub by_article: u64,
}

impl Sink {
    /// Connects to InfluxDB and creates `database` if it does not exist.
    pub fn influx(url: &str, database: &str) -> anyhow::Result<Sink> {
        let sink = InfluxSink {
            client: reqwest::blocking::Client::builder()
                .timeout(INFLUX_TIMEOUT)
                .build()?,
            base: url.trim_end_matches('/').to_owned(),
            database: database.to_owned(),
        };
        sink.query(&format!("CREATE DATABASE {}", identifier(database)))?;
        Ok(Sink::Influx(sink))
    }

    /// Opens (or creates) `reactions.sqlite` in `data_dir` with the schema query reads.
    pub fn embedded(data_dir: &Path) -> anyhow::Result<Sink> {
        let path = data_dir.join(EMBEDDED_FILE);
        let connection = shared::embedded::open_writer(&path)
            .with_context(|| format!("cannot open the embedded store {}", path.display()))?;
        // A bulk load inserts in random key order; a 1 GiB page cache keeps most of both
        // B-trees in memory. It applies to this connection only, not to the file.
        connection.pragma_update(None, "cache_size", -1_048_576)?;
        Ok(Sink::Embedded(Mutex::new(connection)))
    }

    /// Returns the store's kind and where it is, for the manifest.
    pub fn describe(&self, data_dir: Option<&Path>) -> (&'static str, String) {
        match self {
            Sink::Influx(influx) => (
                "influxdb",
                format!("{} db={}", influx.base, influx.database),
            ),
            Sink::Embedded(_) => (
                "embedded",
                data_dir
                    .map(|dir| dir.join(EMBEDDED_FILE).display().to_string())
                    .unwrap_or_default(),
            ),
        }
    }

    /// Writes one chunk: one `/write` request, or one transaction.
    pub fn write(&self, reactions: &[Reaction]) -> anyhow::Result<()> {
        match self {
            Sink::Influx(influx) => influx.write(encode_batch(reactions, Vec::new())),
            Sink::Embedded(connection) => {
                shared::embedded::insert_batch(&mut *lock(connection)?, reactions)?;
                Ok(())
            }
        }
    }

    /// Counts the reactions in the store: points in each measurement, or rows.
    pub fn count(&self) -> anyhow::Result<Stored> {
        match self {
            Sink::Influx(influx) => Ok(Stored {
                by_user: influx.count(USER_MEASUREMENT, "article_id")?,
                by_article: influx.count(ARTICLE_MEASUREMENT, "user_id")?,
            }),
            Sink::Embedded(connection) => {
                let rows: i64 =
                    lock(connection)?
                        .query_row("SELECT count(*) FROM reactions", [], |row| row.get(0))?;
                Ok(Stored {
                    by_user: rows as u64,
                    by_article: rows as u64,
                })
            }
        }
    }

    /// Leaves the store compact: SQLite moves its write-ahead log into the main file.
    pub fn finish(&self) -> anyhow::Result<()> {
        if let Sink::Embedded(connection) = self {
            lock(connection)?.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
        }
        Ok(())
    }
}

fn lock(connection: &Mutex<Connection>) -> anyhow::Result<MutexGuard<'_, Connection>> {
    connection
        .lock()
        .map_err(|_| anyhow::anyhow!("a writer thread panicked while writing to SQLite"))
}

/// InfluxDB's v1 HTTP API for one database.
pub struct InfluxSink {
    client: reqwest::blocking::Client,
    base: String,
    database: String,
}

impl InfluxSink {
    /// Posts line protocol, retrying timeouts and 5xx responses with a growing pause.
    fn write(&self, body: Vec<u8>) -> anyhow::Result<()> {
        let url = format!("{}/write", self.base);

        for attempt in 1..=WRITE_ATTEMPTS {
            let outcome = self
                .client
                .post(&url)
                .query(&[("db", self.database.as_str()), ("precision", "ns")])
                .body(body.clone())
                .send();
            let failure = match outcome {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) if response.status().is_server_error() => {
                    format!("{}: {}", response.status(), response.text()?)
                }
                Ok(response) => bail!(
                    "InfluxDB rejected a write with {}: {}",
                    response.status(),
                    response.text()?
                ),
                Err(error) => error.to_string(),
            };
            eprintln!("dataset: InfluxDB write attempt {attempt} failed: {failure}");
            std::thread::sleep(Duration::from_secs(1 << attempt));
        }
        bail!("InfluxDB write failed after {WRITE_ATTEMPTS} attempts")
    }

    fn count(&self, measurement: &str, field: &str) -> anyhow::Result<u64> {
        let body = self.query(&format!(
            "SELECT count({}) FROM {}",
            identifier(field),
            identifier(measurement)
        ))?;
        Ok(body["results"][0]["series"][0]["values"][0][1]
            .as_u64()
            .unwrap_or(0))
    }

    /// Runs one InfluxQL statement and returns the JSON response, failing on any error in it.
    fn query(&self, statement: &str) -> anyhow::Result<serde_json::Value> {
        let body: serde_json::Value = self
            .client
            .post(format!("{}/query", self.base))
            .form(&[("db", self.database.as_str()), ("q", statement)])
            .send()
            .and_then(|response| response.error_for_status())
            .and_then(|response| response.json())
            .with_context(|| format!("InfluxDB query {statement:?} failed"))?;
        let error = body["error"]
            .as_str()
            .or(body["results"][0]["error"].as_str());
        if let Some(error) = error {
            bail!("InfluxDB query {statement:?} failed: {error}");
        }
        Ok(body)
    }
}
