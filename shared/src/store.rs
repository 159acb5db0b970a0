//! Where reactions are kept: InfluxDB over its v1 HTTP API, or an embedded SQLite file.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Command-line flags that choose the store; both binaries flatten them into their own.
#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// Base URL of InfluxDB, for example http://127.0.0.1:8086. Without it the embedded store
    /// under --data-dir is used.
    #[arg(long, env = "INFLUX_URL")]
    pub influx_url: Option<Url>,

    /// InfluxDB database; created at startup when missing and the server allows it.
    #[arg(long, env = "INFLUX_DB", default_value = "reactions")]
    pub influx_db: String,

    /// InfluxDB token, sent as `Authorization: Token <token>`; never logged.
    #[arg(long, env = "INFLUX_TOKEN", hide_env_values = true)]
    pub influx_token: Option<String>,

    /// Time limit for one InfluxDB request.
    #[arg(long, env = "INFLUX_TIMEOUT", default_value = "10s", value_parser = humantime_duration)]
    pub influx_timeout: Duration,

    /// Directory of the embedded store's SQLite file.
    #[arg(long, env = "REACTIONS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

/// Parses a duration such as `250ms`, `10s` or `1m`.
pub fn humantime_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|error| format!("{error}; expected a duration such as 250ms, 10s or 1m"))
}

/// The store both binaries talk to, checked once at startup.
#[derive(Clone)]
pub enum StoreConfig {
    Influx(InfluxConfig),
    Embedded { path: PathBuf },
}

/// How to reach InfluxDB through its v1 API (served by 1.x, and by 2.x and 3.x for
/// compatibility).
#[derive(Clone)]
pub struct InfluxConfig {
    pub url: Url,
    pub database: String,
    pub token: Option<SecretString>,
    pub timeout: Duration,
}

/// File name of the embedded store inside the data directory.
pub const EMBEDDED_FILE: &str = "reactions.sqlite";

impl StoreArgs {
    pub fn into_config(self) -> Result<StoreConfig, String> {
        let Some(url) = self.influx_url else {
            return Ok(StoreConfig::Embedded {
                path: self.data_dir.join(EMBEDDED_FILE),
            });
        };

        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "invalid --influx-url {url}: expected http:// or https://, for example http://127.0.0.1:8086"
            ));
        }
        if self.influx_db.is_empty() {
            return Err(
                "invalid --influx-db: must not be empty, for example --influx-db reactions"
                    .to_owned(),
            );
        }

        Ok(StoreConfig::Influx(InfluxConfig {
            url,
            database: self.influx_db,
            token: self
                .influx_token
                .filter(|token| !token.is_empty())
                .map(SecretString::from),
            timeout: self.influx_timeout,
        }))
    }
}

impl InfluxConfig {
    /// Returns the `/write` URL with the database and nanosecond precision, the precision of
    /// [`crate::Reaction::time_nanos`].
    pub fn write_url(&self) -> Url {
        let mut url = self.endpoint("write");
        url.query_pairs_mut()
            .append_pair("db", &self.database)
            .append_pair("precision", "ns");
        url
    }

    /// Returns the `/query` URL for this database.
    pub fn query_url(&self) -> Url {
        let mut url = self.endpoint("query");
        url.query_pairs_mut().append_pair("db", &self.database);
        url
    }

    pub fn ping_url(&self) -> Url {
        self.endpoint("ping")
    }

    /// Returns the `Authorization` header value, when a token is configured.
    pub fn authorization(&self) -> Option<String> {
        self.token
            .as_ref()
            .map(|token| format!("Token {}", token.expose_secret()))
    }

    /// Returns the statement that creates the database.
    pub fn create_database_statement(&self) -> String {
        format!(
            "CREATE DATABASE {}",
            crate::influxql::identifier(&self.database)
        )
    }

    fn endpoint(&self, name: &str) -> Url {
        let mut url = self.url.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{name}"));
        url.set_query(None);
        url
    }
}

impl fmt::Display for StoreConfig {
    /// Describes the store for logs, without the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Influx(influx) => write!(
                f,
                "InfluxDB at {} database {:?} (token {})",
                influx.url,
                influx.database,
                if influx.token.is_some() {
                    "set"
                } else {
                    "not set"
                }
            ),
            StoreConfig::Embedded { path } => write!(f, "embedded SQLite at {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn influx(url: &str) -> InfluxConfig {
        InfluxConfig {
            url: Url::parse(url).unwrap(),
            database: "my db".to_owned(),
            token: None,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn write_url_has_db_and_precision() {
        assert_eq!(
            influx("http://127.0.0.1:8086").write_url().as_str(),
            "http://127.0.0.1:8086/write?db=my+db&precision=ns"
        );
    }

    #[test]
    fn endpoints_keep_a_base_path() {
        assert_eq!(
            influx("http://h:1/influx/").query_url().as_str(),
            "http://h:1/influx/query?db=my+db"
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(humantime_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(humantime_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(humantime_duration("ten").is_err());
        assert!(humantime_duration("5").is_err());
    }
}
