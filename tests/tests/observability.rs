//! The metrics contract: what `/metrics` exposes and that the counts add up.

use reactions_tests::app::{StoredCount, TestApp};
use reactions_tests::{StoreKind, on_both_stores, wait_until};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

on_both_stores!(idle_pipeline_balances, junk_traffic_adds_no_series);

/// Once the pipeline is idle, every accepted reaction is written or dropped and the buffer is
/// empty.
fn idle_pipeline_balances(kind: StoreKind) {
    let app = TestApp::start(kind);
    for request in 0..20 {
        let body: Vec<_> = (0..50)
            .map(|i| json!({"user_id": format!("u{i}"), "article_id": format!("a{request}"), "behavior": "cry"}))
            .collect();
        assert_eq!(app.post(&serde_json::Value::Array(body)).status, 202);
    }
    assert_eq!(app.post(&json!({"user_id": 1})).status, 422);
    assert_eq!(app.wait_for_stored(1000), StoredCount::both(1000));

    let metric = |name: &str| app.metric(&app.ingest, name, "");
    assert!(wait_until(Duration::from_secs(30), || metric(
        "ingest_buffer_depth"
    ) == 0.0));
    let accepted = metric("ingest_reactions_accepted_total");
    assert_eq!(accepted, 1000.0);
    assert_eq!(
        accepted,
        metric("ingest_reactions_written_total") + metric("ingest_reactions_dropped_total")
    );
    assert_eq!(
        app.metric(
            &app.ingest,
            "ingest_reactions_rejected_total",
            "reason=\"invalid\""
        ),
        1.0
    );
    assert_eq!(metric("ingest_buffer_capacity"), 100_000.0);
    assert!(
        metric("ingest_batch_size_reactions_count") >= 1.0,
        "batch sizes are a histogram"
    );
    assert!(metric("process_resident_memory_bytes") > 0.0);
}

/// Random ids and junk paths must not create new series: labels come from fixed sets.
fn junk_traffic_adds_no_series(kind: StoreKind) {
    let app = TestApp::start(kind);
    let series = |service: &reactions_tests::process::Service| {
        let text = reqwest::blocking::get(service.url("/metrics"))
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with("process_"))
            .count()
    };

    let warm_up = |round: usize| {
        for i in 0..20 {
            let id = format!("id-{round}-{i}");
            app.get(&format!("/v1/users/{id}/reactions/summary"));
            app.get(&format!("/v1/articles/{id}/reactions?limit=1"));
            app.get(&format!("/junk/{id}"));
            let _ = reqwest::blocking::get(app.ingest.url(&format!("/junk/{id}")));
            app.post(&json!({"user_id": id, "article_id": "a", "behavior": "like"}));
            app.post(&json!({"user_id": id}));
        }
    };
    // A first scrape creates the series of the /metrics route itself, and each round ends when
    // its reactions are stored, so that the writers' series exist before counting.
    series(&app.ingest);
    series(&app.query);
    warm_up(0);
    assert_eq!(app.wait_for_stored(20), StoredCount::both(20));
    let (ingest_before, query_before) = (series(&app.ingest), series(&app.query));
    warm_up(1);
    assert_eq!(app.wait_for_stored(40), StoredCount::both(40));
    assert_eq!(
        series(&app.ingest),
        ingest_before,
        "ingest series grew with new ids"
    );
    assert_eq!(
        series(&app.query),
        query_before,
        "query series grew with new ids"
    );
}

/// Returns the metric names documented in one `## section` of docs/metrics.md.
fn documented(section: &str) -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/metrics.md");
    let text = std::fs::read_to_string(path).expect("docs/metrics.md is readable");
    let start = text
        .find(&format!("## {section}\n"))
        .unwrap_or_else(|| panic!("no section {section}"));
    let body = &text[start + section.len() + 4..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    body.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_owned()))
        .collect()
}

/// Returns the names in the `# TYPE` lines of a service's `/metrics`.
fn exposed(service: &reactions_tests::process::Service) -> BTreeSet<String> {
    let text = reqwest::blocking::get(service.url("/metrics"))
        .unwrap()
        .text()
        .unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// docs/metrics.md lists exactly what each service exports once it has served traffic.
#[test]
fn metrics_doc_matches_exports() {
    let app = TestApp::start(StoreKind::Influx);
    assert_eq!(
        app.post(&json!({"user_id": "u", "article_id": "a", "behavior": "like"}))
            .status,
        202
    );
    assert_eq!(app.wait_for_stored(1), StoredCount::both(1));
    app.user_summary("u");
    app.user_reactions("u", "");
    let _ = reqwest::blocking::get(app.query.url("/readyz"));

    let both = documented("Both");
    for (service, section) in [(&app.ingest, "ingest"), (&app.query, "query")] {
        let expected: BTreeSet<String> = documented(section).union(&both).cloned().collect();
        let actual = exposed(service);
        let undocumented: Vec<_> = actual.difference(&expected).collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        assert!(
            undocumented.is_empty(),
            "{section} exports metrics docs/metrics.md lacks: {undocumented:?}"
        );
        assert!(
            missing.is_empty(),
            "docs/metrics.md lists {section} metrics it does not export: {missing:?}"
        );
    }
}

/// A request id from the client is echoed; without one, each response gets its own. The id is
/// a field of the request's span, so every log line of the request carries it.
#[test]
fn request_ids_are_echoed_and_logged() {
    let app = TestApp::start(StoreKind::Embedded);
    let client = reqwest::blocking::Client::new();

    let response = client
        .post(app.ingest.url("/v1/reactions"))
        .header("content-type", "application/json")
        .header("x-request-id", "trace-me-42")
        .body(r#"{"user_id": 7}"#)
        .send()
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");

    let first = client
        .get(app.query.url("/v1/users/u/reactions"))
        .send()
        .unwrap();
    let second = client
        .get(app.query.url("/v1/users/u/reactions"))
        .send()
        .unwrap();
    let (first, second) = (
        first.headers().get("x-request-id").cloned(),
        second.headers().get("x-request-id").cloned(),
    );
    assert!(first.is_some(), "a generated request id");
    assert_ne!(first, second, "each request gets its own id");
}
