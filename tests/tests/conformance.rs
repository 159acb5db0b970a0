//! One dataset written to InfluxDB and to the embedded store through ingest; every query case
//! must give the same answer from both, and the answers must match what was sent.

use std::collections::{BTreeMap, BTreeSet};

use reactions_tests::StoreKind;
use reactions_tests::app::{StoredCount, TestApp, encode};
use serde_json::{Value, json};

const BEHAVIORS: [&str; 4] = ["love", "like", "angry", "cry"];
const USERS: usize = 12;
const ARTICLES: usize = 7;

/// 2026-03-01T00:00:00Z in epoch milliseconds.
const START: i64 = 1_772_323_200_000;

/// Returns 1,200 reactions over ten days, with several at the same millisecond for one user
/// (other behaviors and articles) so that listings have to order ties.
fn dataset() -> Vec<Value> {
    let mut reactions = Vec::new();
    for n in 0..1200_usize {
        let user = if n % 5 == 0 {
            "heavy user, \"quoted\"".to_owned()
        } else {
            format!("user-{}", n % USERS)
        };
        let article = format!("article/{}", (n / 2) % ARTICLES);
        // Groups of three reactions share a millisecond.
        let millis = START + (n as i64 / 3) * 720_000;
        reactions.push(json!({"user_id": user, "article_id": article, "behavior": BEHAVIORS[n % 4], "timestamp": millis}));
    }
    reactions
}

fn load(app: &TestApp, reactions: &[Value]) -> u64 {
    for chunk in reactions.chunks(100) {
        let reply = app.post(&Value::Array(chunk.to_vec()));
        assert_eq!(reply.status, 202, "{reply:?}");
    }
    // Identical reactions (same user, article, behavior and millisecond) are stored once.
    let distinct: BTreeSet<String> = reactions.iter().map(Value::to_string).collect();
    distinct.len() as u64
}

/// Every path a client might ask, percent-encoded.
fn cases() -> Vec<String> {
    let mut users: Vec<String> = (0..USERS).map(|i| format!("user-{i}")).collect();
    users.push("heavy user, \"quoted\"".to_owned());
    users.push("nobody".to_owned());
    let articles: Vec<String> = (0..ARTICLES).map(|i| format!("article/{i}")).collect();
    let ranges = [
        String::new(),
        "from=2026-03-03T00:00:00Z".to_owned(),
        "to=2026-03-05T12:00:00Z".to_owned(),
        format!("from={}&to={}", START + 86_400_000, START + 3 * 86_400_000),
        "from=2026-03-04T00:00:00Z&to=2026-03-04T00:00:00Z".to_owned(),
    ];

    let mut paths = Vec::new();
    for (kind, ids) in [("users", &users), ("articles", &articles)] {
        for id in ids {
            let base = format!("/v1/{kind}/{}/reactions", encode(id));
            for range in &ranges {
                paths.push(format!("{base}/summary?{range}"));
                paths.push(format!("{base}?{range}&limit=1000"));
                paths.push(format!("{base}?{range}&limit=7"));
            }
            for behavior in BEHAVIORS {
                paths.push(format!("{base}?behavior={behavior}&limit=1000"));
                paths.push(format!(
                    "{base}?behavior={behavior}&limit=3&from=2026-03-02T00:00:00Z"
                ));
            }
        }
    }
    paths
}

/// Follows `next_cursor` from `path` to the end and returns every listed reaction.
fn all_pages(app: &TestApp, path: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut next = path.to_owned();
    for _ in 0..1000 {
        let reply = app.get(&next);
        assert_eq!(reply.status, 200, "{next}: {reply:?}");
        rows.extend(reply.body["reactions"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}&cursor={cursor}"),
            None => return rows,
        }
    }
    panic!("{path}: paging did not end");
}

#[test]
fn both_stores_answer_alike() {
    let influx = TestApp::start(StoreKind::Influx);
    let embedded = TestApp::start(StoreKind::Embedded);
    let reactions = dataset();
    let stored = load(&influx, &reactions);
    assert_eq!(load(&embedded, &reactions), stored);
    assert_eq!(influx.wait_for_stored(stored), StoredCount::both(stored));
    assert_eq!(embedded.wait_for_stored(stored), StoredCount::both(stored));

    for path in cases() {
        let from_influx = influx.get(&path);
        let from_embedded = embedded.get(&path);
        assert_eq!(from_influx.status, 200, "{path}: {from_influx:?}");
        assert_eq!(
            from_influx.body, from_embedded.body,
            "{path}: InfluxDB and the embedded store differ"
        );
    }
}

#[test]
fn summaries_match_the_dataset() {
    let app = TestApp::start(StoreKind::Influx);
    let reactions = dataset();
    let stored = load(&app, &reactions);
    assert_eq!(app.wait_for_stored(stored), StoredCount::both(stored));

    let mut per_user: BTreeMap<&str, [BTreeSet<&str>; 4]> = BTreeMap::new();
    let mut counts: BTreeMap<&str, [BTreeSet<String>; 4]> = BTreeMap::new();
    for reaction in &reactions {
        let user = reaction["user_id"].as_str().unwrap();
        let behavior = BEHAVIORS
            .iter()
            .position(|b| *b == reaction["behavior"])
            .unwrap();
        per_user.entry(user).or_default()[behavior]
            .insert(reaction["article_id"].as_str().unwrap());
        counts.entry(user).or_default()[behavior].insert(reaction.to_string());
    }

    for (user, articles) in &per_user {
        let summary = app.user_summary(user);
        for (i, behavior) in BEHAVIORS.iter().enumerate() {
            assert_eq!(
                summary["articles"][behavior],
                articles[i].len(),
                "{user} {behavior}: {summary}"
            );
            assert_eq!(
                summary["reactions"][behavior],
                counts[user][i].len(),
                "{user} {behavior}: {summary}"
            );
        }
    }
}

/// Paging with any page size returns every reaction of the full listing once, in order, on
/// both stores, even where reactions share a millisecond.
#[test]
fn pages_cover_the_listing_exactly() {
    for kind in [StoreKind::Influx, StoreKind::Embedded] {
        let app = TestApp::start(kind);
        let reactions = dataset();
        let stored = load(&app, &reactions);
        assert_eq!(app.wait_for_stored(stored), StoredCount::both(stored));

        for id in ["user-3", "heavy user, \"quoted\""] {
            let base = format!("/v1/users/{}/reactions?", encode(id));
            let full = app.get(&format!("{base}limit=1000"));
            let full = full.body["reactions"].as_array().unwrap().clone();
            for limit in [1, 2, 3, 5, 10] {
                let paged = all_pages(&app, &format!("{base}limit={limit}"));
                assert_eq!(paged, full, "{kind:?} {id} limit {limit}");
            }
        }

        let base = format!(
            "/v1/articles/{}/reactions?behavior=like&",
            encode("article/3")
        );
        let full = app.get(&format!("{base}limit=1000")).body["reactions"]
            .as_array()
            .unwrap()
            .clone();
        assert!(full.len() > 10);
        assert_eq!(
            all_pages(&app, &format!("{base}limit=4")),
            full,
            "{kind:?} article listing"
        );
    }
}

#[test]
fn tampered_cursor_is_rejected() {
    let app = TestApp::start(StoreKind::Embedded);
    load(&app, &dataset()[..300]);
    app.wait_for_stored(300);

    let first = app.get("/v1/users/user-1/reactions?limit=2");
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("a first page of 2 has a next page")
        .to_owned();

    let mut altered = cursor.clone().into_bytes();
    altered[3] = if altered[3] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    for (name, path) in [
        (
            "altered",
            format!("/v1/users/user-1/reactions?limit=2&cursor={altered}"),
        ),
        (
            "from another user",
            format!("/v1/users/user-2/reactions?limit=2&cursor={cursor}"),
        ),
        (
            "from another filter",
            format!("/v1/users/user-1/reactions?limit=2&behavior=like&cursor={cursor}"),
        ),
        (
            "garbage",
            "/v1/users/user-1/reactions?cursor=%27%20OR%201%3D1".to_owned(),
        ),
    ] {
        let reply = app.get(&path);
        assert_eq!(reply.status, 400, "{name}: {reply:?}");
        assert_eq!(
            reply.body["details"][0]["parameter"], "cursor",
            "{name}: {reply:?}"
        );
    }
}
