//! The Grafana dashboard and the Prometheus alert rules against real servers: a real Prometheus
//! scrapes a running ingest and query under a short load, every PromQL expression must parse
//! and return data, and every InfluxQL panel must return rows from the real InfluxDB.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reactions_tests::app::{DATABASE, StoredCount, TestApp};
use reactions_tests::{StoreKind, free_port, wait_until};
use serde_json::{Value, json};

/// Grafana's variables, replaced by what they would be on a dashboard showing the last minutes.
const GRAFANA_VARIABLES: [(&str, &str); 4] = [
    ("$__rate_interval", "20s"),
    ("$__interval", "5s"),
    ("$__range", "1m"),
    ("$timeFilter", "time > now() - 1h"),
];

const BEHAVIORS: [&str; 4] = ["love", "like", "angry", "cry"];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A Prometheus server scraping one ingest and one query every second, with our rules loaded.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(ingest: &str, query: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let rules = repository().join("deploy/prometheus/rules.yml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: ingest\n    static_configs:\n      - targets: ['{ingest}']\n  - job_name: query\n    static_configs:\n      - targets: ['{query}']\n",
            rules.canonicalize().unwrap().display()
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();

        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot run prometheus ({error}); install Debian's prometheus package")
            });
        let prometheus = Prometheus {
            child,
            port,
            _dir: dir,
        };

        let ready = wait_until(Duration::from_secs(30), || {
            reqwest::blocking::get(format!("http://127.0.0.1:{port}/-/ready"))
                .is_ok_and(|r| r.status() == 200)
        });
        assert!(ready, "prometheus did not become ready");
        prometheus
    }

    /// Evaluates `expr` now; returns the API response.
    fn query(&self, expr: &str) -> Value {
        reqwest::blocking::Client::new()
            .get(format!("http://127.0.0.1:{}/api/v1/query", self.port))
            .query(&[("query", expr)])
            .send()
            .and_then(|response| response.json())
            .unwrap_or_else(|error| panic!("querying {expr:?} failed: {error}"))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn substitute(query: &str) -> String {
    GRAFANA_VARIABLES
        .iter()
        .fold(query.to_owned(), |text, (variable, value)| {
            text.replace(variable, value)
        })
}

/// Returns (datasource type, query) of every target of every panel, rows included.
fn dashboard_queries() -> Vec<(String, String)> {
    let path = repository().join("grafana/dashboards/reactions.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut panels: Vec<Value> = dashboard["panels"].as_array().cloned().unwrap_or_default();
    let nested: Vec<Value> = panels
        .iter()
        .flat_map(|panel| panel["panels"].as_array().cloned().unwrap_or_default())
        .collect();
    panels.extend(nested);

    let mut queries = Vec::new();
    for panel in &panels {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let source = target["datasource"]["type"]
                .as_str()
                .or(panel["datasource"]["type"].as_str())
                .unwrap_or("")
                .to_owned();
            if let Some(expr) = target["expr"].as_str() {
                queries.push((source, expr.to_owned()));
            } else if let Some(query) = target["query"].as_str() {
                queries.push((source, query.to_owned()));
            }
        }
    }
    queries
}

/// Returns (alert name, expression) of every rule.
fn rules() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repository().join("deploy/prometheus/rules.yml")).unwrap();
    let rules: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut found = Vec::new();
    for group in rules["groups"].as_sequence().into_iter().flatten() {
        for rule in group["rules"].as_sequence().into_iter().flatten() {
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .unwrap_or("?")
                .to_owned();
            found.push((name, rule["expr"].as_str().unwrap_or_default().to_owned()));
        }
    }
    found
}

/// Returns the metric names an expression reads: identifiers of our services, and `up`.
fn metrics_of(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            word.starts_with("ingest_")
                || word.starts_with("query_")
                || word.starts_with("process_")
                || *word == "up"
        })
        .map(str::to_owned)
        .collect()
}

/// Sends a short, varied load: valid and invalid writes, summaries (cache hits and misses) and
/// listings.
fn load(app: &TestApp, round: u64) {
    for request in 0..30 {
        let body: Vec<Value> = (0..20)
            .map(|i| {
                let behavior = BEHAVIORS[i % 4];
                json!({"user_id": format!("u{}", i % 7), "article_id": format!("a{}", request % 5), "behavior": behavior})
            })
            .collect();
        assert_eq!(app.post(&Value::Array(body)).status, 202);
    }
    assert_eq!(app.post(&json!({"user_id": "u"})).status, 422);
    let stored = 600 * (round + 1);
    assert_eq!(app.wait_for_stored(stored), StoredCount::both(stored));
    for i in 0..7 {
        app.user_summary(&format!("u{i}"));
        app.user_summary(&format!("u{i}"));
        app.user_reactions(&format!("u{i}"), "limit=5");
    }
    app.article_summary("a1");
}

#[test]
fn dashboard_and_rules_work_on_real_servers() {
    let app = TestApp::start(StoreKind::Influx);
    let prometheus = Prometheus::start(&app.ingest.address, &app.query.address);

    // Counters must rise between two scrapes for rate() to see them, so the load starts once
    // both services have been scraped, and runs twice, a few scrapes apart.
    let scraped = wait_until(Duration::from_secs(60), || {
        let response = prometheus.query("sum(up{job=~\"ingest|query\"})");
        response["data"]["result"][0]["value"][1] == "2"
    });
    assert!(scraped, "Prometheus never scraped both services");
    load(&app, 0);
    std::thread::sleep(Duration::from_secs(3));
    load(&app, 1);
    std::thread::sleep(Duration::from_secs(3));

    let mut checked = 0;
    for (source, query) in dashboard_queries() {
        let query = substitute(&query);
        if source == "influxdb" {
            let response = app.influxd().query(DATABASE, &query);
            assert!(
                response["results"][0]["error"].is_null(),
                "InfluxQL panel {query:?}: {response}"
            );
            let series = response["results"][0]["series"]
                .as_array()
                .map_or(0, Vec::len);
            assert!(
                series > 0,
                "InfluxQL panel {query:?} returned no rows: {response}"
            );
        } else {
            let response = prometheus.query(&query);
            assert_eq!(
                response["status"], "success",
                "PromQL panel {query:?}: {response}"
            );
            let series = response["data"]["result"].as_array().map_or(0, Vec::len);
            assert!(series > 0, "PromQL panel {query:?} returned no data");
        }
        checked += 1;
    }
    assert!(checked >= 10, "the dashboard has only {checked} queries");

    // Every alert condition but one is false on a healthy service, so those rules must parse
    // and return nothing, while each metric a rule reads must have data: otherwise the alert
    // could never fire. ResidentMemoryGrowing is the exception: RSS does grow in a process's
    // first seconds, so its expression may return series now, and its `for: 3h` is what keeps
    // that from firing.
    for (alert, expr) in rules() {
        let response = prometheus.query(&expr);
        assert_eq!(response["status"], "success", "rule {alert}: {response}");
        let firing = response["data"]["result"].as_array().map_or(0, Vec::len);
        if alert != "ResidentMemoryGrowing" {
            assert_eq!(
                firing, 0,
                "rule {alert} fires on a healthy service: {response}"
            );
        }

        for metric in metrics_of(&expr) {
            let response = prometheus.query(&metric);
            let series = response["data"]["result"].as_array().map_or(0, Vec::len);
            assert!(series > 0, "rule {alert} reads {metric}, which has no data");
        }
    }
}
