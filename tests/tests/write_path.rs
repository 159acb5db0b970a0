//! The write path under load, store outages, store rejections and shutdown: every accepted
//! reaction is stored exactly once, or counted and logged where that is impossible.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use reactions_tests::app::{StoredCount, TestApp};
use reactions_tests::{StoreKind, on_both_stores, wait_until};
use serde_json::{Value, json};

on_both_stores!(
    accepted_equals_stored_under_load,
    sigterm_writes_everything_queued
);

const BEHAVIORS: [&str; 4] = ["love", "like", "angry", "cry"];

/// 2026-01-01T00:00:00Z in epoch milliseconds.
const BASE_MILLIS: i64 = 1_767_225_600_000;

fn client(timeout: Duration) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap()
}

/// A request of `count` reactions with times unique to (`source`, `request`).
fn batch(source: usize, request: usize, count: usize) -> Vec<Value> {
    (0..count)
        .map(|item| {
            let millis = BASE_MILLIS + (source * 10_000_000 + request * 1_000 + item) as i64;
            json!({
                "user_id": format!("s{source}-u{}", item % 17),
                "article_id": format!("a-{}", (request + item) % 29),
                "behavior": BEHAVIORS[item % 4],
                "timestamp": millis,
            })
        })
        .collect()
}

/// What a load thread saw.
#[derive(Default)]
struct LoadTally {
    accepted: AtomicU64,
    unavailable: AtomicU64,
    unavailable_without_retry_after: AtomicU64,
    other_statuses: AtomicU64,
    transport_errors: AtomicU64,
}

/// Eight clients send 24,000 reactions in requests of 60, every tenth request carrying one
/// invalid item. The store must end up with exactly the accepted reactions.
fn accepted_equals_stored_under_load(kind: StoreKind) {
    let app = TestApp::start_with(kind, &["--buffer-reactions", "3000"]);
    let url = app.ingest.url("/v1/reactions");
    let tally = Arc::new(LoadTally::default());

    let clients: Vec<_> = (0..8)
        .map(|source| {
            let (url, tally) = (url.clone(), tally.clone());
            thread::spawn(move || {
                let client = client(Duration::from_secs(30));
                for request in 0..50 {
                    let mut body = batch(source, request, 60);
                    let poisoned = request % 10 == 9;
                    if poisoned {
                        body[30] =
                            json!({"user_id": "rejected", "article_id": "a", "behavior": "smirk"});
                    }
                    loop {
                        let response = client
                            .post(&url)
                            .json(&body)
                            .send()
                            .expect("request failed");
                        match (response.status().as_u16(), poisoned) {
                            (202, false) => {
                                tally.accepted.fetch_add(60, Ordering::Relaxed);
                                break;
                            }
                            (422, true) => break,
                            (503, _) => {
                                tally.unavailable.fetch_add(1, Ordering::Relaxed);
                                thread::sleep(Duration::from_millis(200));
                            }
                            (status, _) => panic!("request {request} of client {source}: {status}"),
                        }
                    }
                }
            })
        })
        .collect();
    for handle in clients {
        handle.join().expect("a client thread panicked");
    }

    let accepted = tally.accepted.load(Ordering::Relaxed);
    assert_eq!(
        accepted,
        8 * 45 * 60,
        "every valid request is eventually accepted"
    );
    assert_eq!(app.wait_for_stored(accepted), StoredCount::both(accepted));
    assert_eq!(app.user_summary("rejected")["reactions"]["love"], 0);
    assert_eq!(app.user_reactions("rejected", "")["reactions"], json!([]));
    eprintln!(
        "503 answers during the load: {}",
        tally.unavailable.load(Ordering::Relaxed)
    );
}

/// Reactions waiting for a long flush interval are written when ingest gets SIGTERM, and it
/// exits 0.
fn sigterm_writes_everything_queued(kind: StoreKind) {
    let mut app = TestApp::start_with(kind, &["--flush-interval", "60s", "--batch-size", "100000"]);
    for request in 0..50 {
        let reply = app.post(&Value::Array(batch(0, request, 100)));
        assert_eq!(reply.status, 202, "{reply:?}");
    }
    assert_eq!(
        app.stored(),
        StoredCount::both(0),
        "nothing is written before the flush"
    );

    let status = app.ingest.terminate(Duration::from_secs(60));
    assert!(
        status.success(),
        "ingest exited with {status}; log:\n{}",
        app.ingest.log_text()
    );
    assert_eq!(
        app.stored(),
        StoredCount::both(5000),
        "every queued reaction is written before exit"
    );
}

/// Sends requests of 100 reactions in a loop until `stop`, tallying what comes back.
fn start_load(url: String, stop: Arc<AtomicBool>, tally: Arc<LoadTally>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let client = client(Duration::from_secs(20));
        let mut request = 0;
        while !stop.load(Ordering::Relaxed) {
            let body = Value::Array(batch(1, request, 100));
            request += 1;
            match client.post(&url).json(&body).send() {
                Ok(response) if response.status() == 202 => {
                    tally.accepted.fetch_add(100, Ordering::Relaxed);
                }
                Ok(response) if response.status() == 503 => {
                    tally.unavailable.fetch_add(1, Ordering::Relaxed);
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                    if retry_after.is_none_or(|seconds| seconds < 1) {
                        tally
                            .unavailable_without_retry_after
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(100));
                }
                Ok(_) => {
                    tally.other_statuses.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    tally.transport_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
}

/// InfluxDB frozen with SIGSTOP for 30 s under load: the buffer fills, clients get 503 with
/// `Retry-After` and never hang, `/healthz` keeps answering, and after InfluxDB resumes every
/// accepted reaction is stored.
#[test]
fn paused_store_gives_backpressure_then_recovers() {
    let app = TestApp::start_with(
        StoreKind::Influx,
        &[
            "--buffer-reactions",
            "20000",
            "--request-timeout",
            "5s",
            "--influx-timeout",
            "2s",
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(LoadTally::default());
    let load = start_load(app.ingest.url("/v1/reactions"), stop.clone(), tally.clone());

    thread::sleep(Duration::from_secs(1));
    app.influxd().pause();
    let paused_at = Instant::now();
    let accepted_at_pause = tally.accepted.load(Ordering::Relaxed);

    // While the store is frozen, the async runtime must keep serving health checks.
    let health = client(Duration::from_secs(5));
    let mut first_503 = None;
    while paused_at.elapsed() < Duration::from_secs(30) {
        let reply = health.get(app.ingest.url("/healthz")).send();
        assert!(
            reply.is_ok_and(|r| r.status() == 200),
            "/healthz failed while the store was paused"
        );
        if first_503.is_none() && tally.unavailable.load(Ordering::Relaxed) > 0 {
            first_503 = Some((
                paused_at.elapsed(),
                tally.accepted.load(Ordering::Relaxed) - accepted_at_pause,
            ));
        }
        thread::sleep(Duration::from_millis(200));
    }

    app.influxd().resume();
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();

    let accepted = tally.accepted.load(Ordering::Relaxed);
    assert!(
        tally.unavailable.load(Ordering::Relaxed) > 0,
        "a frozen store must fill the buffer"
    );
    assert_eq!(
        tally
            .unavailable_without_retry_after
            .load(Ordering::Relaxed),
        0,
        "every 503 carries Retry-After"
    );
    assert_eq!(
        tally.transport_errors.load(Ordering::Relaxed),
        0,
        "no request may hang or fail"
    );
    assert_eq!(
        tally.other_statuses.load(Ordering::Relaxed),
        0,
        "only 202 and 503 are expected"
    );
    assert_eq!(app.wait_for_stored(accepted), StoredCount::both(accepted));

    if let Some((after, reactions)) = first_503 {
        eprintln!(
            "buffer of 20000 full {:.1} s after the pause, having taken {reactions} reactions",
            after.as_secs_f64()
        );
    }
}

/// InfluxDB killed and restarted under load: nothing accepted is lost.
#[test]
fn killed_store_loses_nothing_after_restart() {
    let mut app = TestApp::start_with(
        StoreKind::Influx,
        &["--buffer-reactions", "20000", "--request-timeout", "5s"],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(LoadTally::default());
    let load = start_load(app.ingest.url("/v1/reactions"), stop.clone(), tally.clone());

    thread::sleep(Duration::from_secs(1));
    app.influxd_mut().kill();
    thread::sleep(Duration::from_secs(10));
    app.influxd_mut().restart();
    thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();

    let accepted = tally.accepted.load(Ordering::Relaxed);
    assert!(accepted > 0);
    assert_eq!(
        tally.transport_errors.load(Ordering::Relaxed),
        0,
        "no request may hang or fail"
    );
    assert_eq!(app.wait_for_stored(accepted), StoredCount::both(accepted));
}

/// With the store down at shutdown, ingest gives up at the drain deadline, says how many
/// reactions it could not write, and exits non-zero.
#[test]
fn sigterm_with_store_down_exits_nonzero() {
    let mut app = TestApp::start_with(
        StoreKind::Influx,
        &["--drain-timeout", "2s", "--influx-timeout", "1s"],
    );
    app.influxd().pause();
    let reply = app.post(&Value::Array(batch(2, 0, 100)));
    assert_eq!(reply.status, 202);

    let status = app.ingest.terminate(Duration::from_secs(60));
    app.influxd().resume();

    assert_eq!(status.code(), Some(1), "log:\n{}", app.ingest.log_text());
    let log = app.ingest.log_text();
    assert!(
        log.contains("\"abandoned\":100"),
        "the last log line counts the unwritten reactions:\n{log}"
    );
}

/// A real field type conflict makes InfluxDB reject some points of a batch: InfluxDB 1.x keeps
/// one type per field and shard, so an integer `article_id` in the shard of early January makes
/// every later string `article_id` of that shard conflict. Only those points are dropped and
/// counted; the rest of the batch and later batches are written.
#[test]
fn partial_write_drops_only_conflicting_points() {
    let app = TestApp::start(StoreKind::Influx);
    let database = reactions_tests::app::DATABASE;

    let seed = app.influxd().write(
        database,
        "reactions_by_user,user_id=seed,behavior=like article_id=1i 1767225600000000000\n",
    );
    assert_eq!(seed.status(), 204);

    let at = |day: &str, i: usize| format!("2026-{day}T01:00:00.{i:03}Z");
    let mut body: Vec<Value> = (0..10).map(|i| json!({"user_id": format!("jan-{i}"), "article_id": "a", "behavior": "like", "timestamp": at("01-01", i)})).collect();
    body.extend((0..10).map(|i| json!({"user_id": format!("feb-{i}"), "article_id": "a", "behavior": "like", "timestamp": at("02-01", i)})));
    assert_eq!(app.post(&Value::Array(body)).status, 202);

    let later: Vec<Value> = (0..5).map(|i| json!({"user_id": format!("mar-{i}"), "article_id": "b", "behavior": "cry", "timestamp": at("03-01", i)})).collect();
    thread::sleep(Duration::from_millis(500));
    assert_eq!(app.post(&Value::Array(later)).status, 202);

    // Ten January points of reactions_by_user conflict; everything else is stored.
    let written = || app.metric(&app.ingest, "ingest_reactions_written_total", "");
    assert!(
        wait_until(Duration::from_secs(30), || written() == 15.0),
        "written: {}",
        written()
    );
    let dropped = app.metric(
        &app.ingest,
        "ingest_reactions_dropped_total",
        "reason=\"field_type_conflict\"",
    );
    assert_eq!(dropped, 10.0);

    // A query over a shard where the field is an integer reads that type only, so the stored
    // points are checked from February on.
    let summary = |user: String| {
        let path = format!("/v1/users/{user}/reactions/summary?from=2026-02-01T00:00:00Z");
        app.get(&path).body
    };
    for i in 0..10 {
        assert_eq!(
            summary(format!("feb-{i}"))["reactions"]["like"],
            1,
            "feb-{i}"
        );
    }
    for i in 0..5 {
        assert_eq!(
            summary(format!("mar-{i}"))["reactions"]["cry"],
            1,
            "mar-{i}"
        );
    }
    assert_eq!(
        app.article_summary("a")["users"]["like"],
        20,
        "the other point of each reaction is stored"
    );
    assert_eq!(app.article_summary("b")["users"]["cry"], 5);

    let log = app.ingest.log_text();
    assert!(
        log.contains("field_type_conflict"),
        "the rejection is logged:\n{log}"
    );
}
