//! `TestApp`: one store, one ingest and one query process for a test, with typed helpers.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tempfile::TempDir;

use crate::cgroup::Cgroup;
use crate::influxd::Influxd;
use crate::process::Service;
use crate::wait_until;

/// Database the tests write to; not the default, so that the flag is exercised.
pub const DATABASE: &str = "reactions_test";

/// How long a test waits for accepted reactions to reach the store.
pub const STORE_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Influx,
    Embedded,
}

/// A response: status, headers and the JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

pub struct TestApp {
    pub kind: StoreKind,
    pub influxd: Option<Influxd>,
    pub data: TempDir,
    pub ingest: Service,
    pub query: Service,
    client: Client,
}

impl TestApp {
    pub fn start(kind: StoreKind) -> TestApp {
        Self::start_with(kind, &[])
    }

    /// Starts the store and both services; `ingest_args` are added to ingest's flags.
    pub fn start_with(kind: StoreKind, ingest_args: &[&str]) -> TestApp {
        Self::start_with_args(kind, ingest_args, &[])
    }

    /// Starts the store and both services with extra flags for each.
    pub fn start_with_args(kind: StoreKind, ingest_args: &[&str], query_args: &[&str]) -> TestApp {
        Self::start_full(kind, ingest_args, query_args, None)
    }

    /// Starts the store and both services, with ingest inside `cgroup` when given.
    pub fn start_full(
        kind: StoreKind,
        ingest_args: &[&str],
        query_args: &[&str],
        cgroup: Option<&Cgroup>,
    ) -> TestApp {
        let influxd = (kind == StoreKind::Influx).then(Influxd::start);
        let data = tempfile::tempdir().expect("cannot create a temporary directory");
        let store = store_args(influxd.as_ref(), &data);

        let mut args = vec![
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--flush-interval".to_owned(),
            "50ms".to_owned(),
        ];
        args.extend(["--shutdown-grace".to_owned(), "0s".to_owned()]);
        args.extend(store.iter().cloned());
        args.extend(ingest_args.iter().map(|arg| arg.to_string()));
        let ingest = Service::start_in("ingest", &args, data.path(), cgroup);

        let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
        args.extend(store);
        args.extend(query_args.iter().map(|arg| arg.to_string()));
        let query = Service::start("query", &args, data.path());

        TestApp {
            kind,
            influxd,
            data,
            ingest,
            query,
            client: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("cannot build an HTTP client"),
        }
    }

    pub fn influxd_mut(&mut self) -> &mut Influxd {
        self.influxd
            .as_mut()
            .expect("this test app runs on the embedded store")
    }

    pub fn influxd(&self) -> &Influxd {
        self.influxd
            .as_ref()
            .expect("this test app runs on the embedded store")
    }

    /// Posts JSON to ingest's `/v1/reactions`.
    pub fn post(&self, body: &Value) -> Reply {
        self.post_raw(
            Some("application/json"),
            serde_json::to_vec(body).expect("serializable"),
            &[],
        )
    }

    /// Posts raw bytes with an optional content type and extra headers.
    pub fn post_raw(
        &self,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .client
            .post(self.ingest.url("/v1/reactions"))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send().expect("POST /v1/reactions failed to send"))
    }

    /// Sends a GET to the query service; `path` must already be percent-encoded.
    pub fn get(&self, path: &str) -> Reply {
        reply(
            self.client
                .get(self.query.url(path))
                .send()
                .expect("GET to query failed to send"),
        )
    }

    pub fn user_summary(&self, user_id: &str) -> Value {
        self.get_ok(&format!("/v1/users/{}/reactions/summary", encode(user_id)))
    }

    /// Lists a user's reactions; `query` is a query string without `?`, or empty.
    pub fn user_reactions(&self, user_id: &str, query: &str) -> Value {
        self.get_ok(&format!("/v1/users/{}/reactions?{query}", encode(user_id)))
    }

    pub fn article_summary(&self, article_id: &str) -> Value {
        self.get_ok(&format!(
            "/v1/articles/{}/reactions/summary",
            encode(article_id)
        ))
    }

    pub fn article_reactions(&self, article_id: &str, query: &str) -> Value {
        self.get_ok(&format!(
            "/v1/articles/{}/reactions?{query}",
            encode(article_id)
        ))
    }

    /// Returns the value of one sample from `service`'s `/metrics` (summed over its label sets
    /// when `labels` is empty, else the sample whose labels contain `labels`); 0 when absent.
    pub fn metric(&self, service: &Service, name: &str, labels: &str) -> f64 {
        let text = self
            .client
            .get(service.url("/metrics"))
            .send()
            .and_then(|response| response.text())
            .expect("GET /metrics failed");
        crate::metrics::sample_sum(&text, name, labels)
    }

    fn get_ok(&self, path: &str) -> Value {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path} returned {reply:?}");
        reply.body
    }

    /// Counts stored reactions by reading the store directly: rows in SQLite, or points in
    /// each InfluxDB measurement (the two must agree once writes settle).
    pub fn stored(&self) -> StoredCount {
        match &self.influxd {
            Some(influxd) => StoredCount {
                by_user: influxd.count_points(DATABASE, "reactions_by_user", "article_id"),
                by_article: influxd.count_points(DATABASE, "reactions_by_article", "user_id"),
            },
            None => {
                let path = self.data.path().join("store").join("reactions.sqlite");
                let count = match rusqlite::Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                ) {
                    Ok(connection) => connection
                        .query_row("SELECT count(*) FROM reactions", [], |row| {
                            row.get::<_, i64>(0)
                        })
                        .unwrap_or(0) as u64,
                    Err(_) => 0,
                };
                StoredCount {
                    by_user: count,
                    by_article: count,
                }
            }
        }
    }

    /// Waits until the store holds exactly `expected` reactions; returns the last count.
    pub fn wait_for_stored(&self, expected: u64) -> StoredCount {
        let mut last = self.stored();
        wait_until(STORE_WAIT, || {
            last = self.stored();
            last.by_user == expected && last.by_article == expected
        });
        last
    }
}

impl Reply {
    /// Returns the `Retry-After` header in seconds, if present and numeric.
    pub fn retry_after(&self) -> Option<u64> {
        self.headers.get("retry-after")?.to_str().ok()?.parse().ok()
    }
}

/// Reactions found in the store, per read path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredCount {
    pub by_user: u64,
    pub by_article: u64,
}

impl StoredCount {
    pub fn both(count: u64) -> Self {
        StoredCount {
            by_user: count,
            by_article: count,
        }
    }
}

/// Percent-encodes an id for a path segment.
pub fn encode(id: &str) -> String {
    utf8_percent_encode(id, NON_ALPHANUMERIC).to_string()
}

fn store_args(influxd: Option<&Influxd>, data: &TempDir) -> Vec<String> {
    let mut args = vec![
        "--data-dir".to_owned(),
        data.path().join("store").display().to_string(),
    ];
    if let Some(influxd) = influxd {
        args.extend([
            "--influx-url".to_owned(),
            influxd.url(""),
            "--influx-db".to_owned(),
            DATABASE.to_owned(),
        ]);
    }
    args
}

fn reply(response: reqwest::blocking::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}
