//! ingest inside a 128 MB memory limit, as `mem_limit: 128m` sets in docker-compose.yml: with
//! InfluxDB frozen under sustained load, the byte bounds derived from the limit keep it alive
//! and answering 503, and nothing accepted is lost once InfluxDB resumes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use reactions_tests::StoreKind;
use reactions_tests::app::{StoredCount, TestApp};
use reactions_tests::cgroup::{Cgroup, Limits};
use serde_json::{Value, json};

const LIMIT: u64 = 128 << 20;

/// Counts what the load saw.
#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    unavailable: AtomicU64,
    unavailable_without_retry_after: AtomicU64,
    failures: AtomicU64,
}

/// A request of 1,000 reactions with ids long enough to make the buffer's byte bound, not its
/// reaction count, the limit.
fn request(client: usize, number: usize) -> Value {
    let reactions: Vec<Value> = (0..1000)
        .map(|item| {
            json!({
                "user_id": format!("client-{client}-user-{:0>60}", item % 97),
                "article_id": format!("article-{:0>60}-{}", number, item),
                "behavior": "love",
                "timestamp": 1_767_225_600_000_i64 + (client * 100_000_000 + number * 1000 + item) as i64,
            })
        })
        .collect();
    Value::Array(reactions)
}

#[test]
fn ingest_survives_store_outage_in_128_mb() {
    let limits = Limits {
        memory_bytes: Some(LIMIT),
        cpus: None,
    };
    let cgroup = Cgroup::create(limits).unwrap_or_else(|error| {
        panic!("cannot create the cgroup ({error}); memory-limit tests need root and a writable cgroup mount")
    });
    let mut app = TestApp::start_full(
        StoreKind::Influx,
        &["--buffer-reactions", "10000000", "--influx-timeout", "2s"],
        &[],
        Some(&cgroup),
    );
    assert!(
        app.ingest.log_text().contains("\"memory_limit\":134217728"),
        "ingest sees the limit:\n{}",
        app.ingest.log_text()
    );

    app.influxd().pause();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let url = app.ingest.url("/v1/reactions");

    let clients: Vec<_> = (0..4)
        .map(|client| {
            let (url, stop, tally) = (url.clone(), stop.clone(), tally.clone());
            thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                let mut number = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = request(client, number);
                    number += 1;
                    match http.post(&url).json(&body).send() {
                        Ok(response) if response.status() == 202 => {
                            tally.accepted.fetch_add(1000, Ordering::Relaxed);
                        }
                        Ok(response) if response.status() == 503 => {
                            tally.unavailable.fetch_add(1, Ordering::Relaxed);
                            if !response.headers().contains_key("retry-after") {
                                tally
                                    .unavailable_without_retry_after
                                    .fetch_add(1, Ordering::Relaxed);
                            }
                            thread::sleep(Duration::from_millis(20));
                        }
                        _ => {
                            tally.failures.fetch_add(1, Ordering::Relaxed);
                            thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
        })
        .collect();

    // Sustained load until the buffer has been full for a while.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(25) {
        thread::sleep(Duration::from_secs(1));
        assert!(
            app.ingest.is_running(),
            "ingest died inside the limit; log:\n{}",
            app.ingest.log_text()
        );
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }

    let peak = cgroup.peak_bytes().unwrap_or(0);
    eprintln!(
        "accepted {} reactions before the buffer filled; {} answers were 503; peak memory {} MiB of {} MiB",
        tally.accepted.load(Ordering::Relaxed),
        tally.unavailable.load(Ordering::Relaxed),
        peak >> 20,
        LIMIT >> 20
    );
    assert_eq!(
        cgroup.oom_kills(),
        0,
        "the OOM killer struck inside the cgroup"
    );
    assert!(app.ingest.is_running(), "ingest must stay alive");
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
        tally.failures.load(Ordering::Relaxed),
        0,
        "only 202 and 503 are expected"
    );

    app.influxd().resume();
    let accepted = tally.accepted.load(Ordering::Relaxed);
    assert!(accepted > 0);
    assert_eq!(app.wait_for_stored(accepted), StoredCount::both(accepted));
    let status = app.ingest.terminate(Duration::from_secs(60));
    assert!(status.success(), "ingest exits cleanly after the outage");
}
