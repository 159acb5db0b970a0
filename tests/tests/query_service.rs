//! The query service's handling of store failures, its cache, and its parameter checks.

use std::thread;
use std::time::Duration;

use reactions_tests::app::{StoredCount, TestApp};
use reactions_tests::{StoreKind, on_both_stores, wait_until};
use serde_json::{Value, json};

on_both_stores!(
    unknown_parameters_are_rejected,
    bulk_request_with_one_timestamp_is_kept,
    stale_summary_served_during_refresh,
    zero_max_stale_reads_after_ttl
);

fn like(user: &str, article: &str) -> Value {
    json!({"user_id": user, "article_id": article, "behavior": "like", "timestamp": "2026-01-01T00:00:00Z"})
}

#[test]
fn unreachable_store_answers_503() {
    let mut app = TestApp::start(StoreKind::Influx);
    app.influxd_mut().kill();

    for path in [
        "/v1/users/u/reactions/summary",
        "/v1/users/u/reactions",
        "/v1/articles/a/reactions/summary",
        "/v1/articles/a/reactions",
    ] {
        let reply = app.get(path);
        assert_eq!(reply.status, 503, "{path}: {reply:?}");
        assert!(reply.body["error"].is_string(), "{path}: {reply:?}");
    }
    assert_eq!(app.get("/readyz").status, 503);
    assert_eq!(app.get("/healthz").status, 200);
}

/// An error inside InfluxDB's 200 answer (here: the database was dropped) is a 502, never zeros.
#[test]
fn store_error_answers_502() {
    let app = TestApp::start(StoreKind::Influx);
    let dropped = app.influxd().query(
        "",
        &format!("DROP DATABASE \"{}\"", reactions_tests::app::DATABASE),
    );
    assert!(dropped["results"][0]["error"].is_null(), "{dropped}");

    for path in ["/v1/users/u/reactions/summary", "/v1/articles/a/reactions"] {
        let reply = app.get(path);
        assert_eq!(reply.status, 502, "{path}: {reply:?}");
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(error.contains("database not found"), "{path}: {reply:?}");
    }
    let errors = app.metric(&app.query, "query_store_errors_total", "kind=\"error\"");
    assert_eq!(errors, 2.0);
}

/// A hot article read by many clients at once costs one store query.
#[test]
fn concurrent_summaries_share_one_query() {
    let app = TestApp::start_with_args(StoreKind::Influx, &[], &["--cache-ttl", "60s"]);
    let url = app.query.url("/v1/articles/hot/reactions/summary");

    let readers: Vec<_> = (0..50)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || {
                reqwest::blocking::get(&url).map(|response| response.status().as_u16())
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().unwrap().ok(), Some(200));
    }

    let misses = app.metric(&app.query, "query_cache_misses_total", "");
    let hits = app.metric(&app.query, "query_cache_hits_total", "");
    assert_eq!(misses, 1.0, "one store query for 50 identical requests");
    assert_eq!(hits, 49.0);
}

fn unknown_parameters_are_rejected(kind: StoreKind) {
    let app = TestApp::start(kind);
    for path in [
        "/v1/users/u/reactions/summary?behavior=like",
        "/v1/users/u/reactions/summary?limit=5",
        "/v1/users/u/reactions?behaviour=like",
        "/v1/articles/a/reactions?page=2",
    ] {
        let reply = app.get(path);
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert!(
            reply.body["error"]
                .as_str()
                .is_some_and(|e| e.contains("unknown parameter")),
            "{path}: {reply:?}"
        );
    }
}

/// A bulk import that gives 3,000 reactions of one user the same timestamp keeps all of them,
/// and sending the same request again stores nothing new.
fn bulk_request_with_one_timestamp_is_kept(kind: StoreKind) {
    let app = TestApp::start(kind);
    let body: Vec<Value> = (0..3000)
        .map(|i| like("importer", &format!("a-{i}")))
        .collect();
    assert_eq!(app.post(&Value::Array(body.clone())).status, 202);
    assert_eq!(app.post(&Value::Array(body)).status, 202);

    assert_eq!(app.wait_for_stored(3000), StoredCount::both(3000));
    let summary = app.user_summary("importer");
    assert_eq!(summary["reactions"]["like"], 3000, "{summary}");
    assert_eq!(summary["articles"]["like"], 3000, "{summary}");
}

/// Returns the likes in an article's summary.
fn likes_of(app: &TestApp, article: &str) -> u64 {
    let summary = app.article_summary(article);
    summary["reactions"]["like"]
        .as_u64()
        .unwrap_or_else(|| panic!("no like count in {summary}"))
}

/// Starts an app with a 1 s cache TTL and `max_stale`, caches the summary of article "hot" with
/// one like, stores a second like, and waits past the TTL.
fn app_past_ttl(kind: StoreKind, max_stale: &str) -> TestApp {
    let query_args = ["--cache-ttl", "1s", "--cache-max-stale", max_stale];
    let app = TestApp::start_with_args(kind, &[], &query_args);
    assert_eq!(app.post(&like("u-1", "hot")).status, 202);
    assert_eq!(app.wait_for_stored(1), StoredCount::both(1));
    assert_eq!(likes_of(&app, "hot"), 1);

    assert_eq!(app.post(&like("u-2", "hot")).status, 202);
    assert_eq!(app.wait_for_stored(2), StoredCount::both(2));
    thread::sleep(Duration::from_millis(1500));
    app
}

/// Past the TTL, a summary read returns the cached summary while a background query refreshes
/// it, and a later read returns the refreshed one.
fn stale_summary_served_during_refresh(kind: StoreKind) {
    // The maximum staleness is far longer than any wait here, so the entry stays servable.
    let app = app_past_ttl(kind, "10m");
    assert_eq!(
        likes_of(&app, "hot"),
        1,
        "the first read past the TTL returns the cached summary"
    );

    let mut last = 0;
    let refreshed = wait_until(Duration::from_secs(60), || {
        last = likes_of(&app, "hot");
        last == 2
    });
    assert!(refreshed, "the summary still has {last} likes");
    let refreshes = app.metric(&app.query, "query_cache_refreshes_total", "");
    assert!(refreshes >= 1.0, "{refreshes} refreshes");
}

/// With no staleness allowed, the first read past the TTL waits for the store.
fn zero_max_stale_reads_after_ttl(kind: StoreKind) {
    let app = app_past_ttl(kind, "0s");
    assert_eq!(likes_of(&app, "hot"), 2);
    let refreshes = app.metric(&app.query, "query_cache_refreshes_total", "");
    assert_eq!(refreshes, 0.0);
}
