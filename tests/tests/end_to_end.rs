//! Reactions in through ingest, answers out of query, on each store.

use std::collections::{BTreeMap, BTreeSet};

use reactions_tests::app::{StoredCount, TestApp};
use reactions_tests::{StoreKind, on_both_stores};
use serde_json::{Value, json};

on_both_stores!(
    stored_reaction_reads_back,
    every_behavior_lists_and_counts,
    special_ids_round_trip,
    ten_thousand_reactions_in_batches,
    unknown_ids_get_zeros,
    injection_ids_stay_literal,
    bad_query_parameters_are_rejected,
    retried_reaction_is_stored_once,
    distinct_reactions_never_overwrite,
);

const BEHAVIORS: [&str; 4] = ["love", "like", "angry", "cry"];

fn reaction(user: &str, article: &str, behavior: &str, timestamp: &str) -> Value {
    json!({"user_id": user, "article_id": article, "behavior": behavior, "timestamp": timestamp})
}

fn accept(app: &TestApp, body: &Value) {
    let reply = app.post(body);
    assert_eq!(reply.status, 202, "{reply:?}");
}

fn stored_reaction_reads_back(kind: StoreKind) {
    let app = TestApp::start(kind);
    accept(
        &app,
        &reaction("u-42", "a-7", "like", "2026-01-01T00:00:00.123Z"),
    );
    assert_eq!(app.wait_for_stored(1), StoredCount::both(1));

    assert_eq!(
        app.user_reactions("u-42", ""),
        json!({"user_id": "u-42", "reactions": [{"article_id": "a-7", "behavior": "like", "timestamp": "2026-01-01T00:00:00.123Z"}], "next_cursor": null})
    );
    assert_eq!(
        app.user_summary("u-42"),
        json!({
            "user_id": "u-42",
            "reactions": {"love": 0, "like": 1, "angry": 0, "cry": 0},
            "articles": {"love": 0, "like": 1, "angry": 0, "cry": 0}
        })
    );
    assert_eq!(
        app.article_summary("a-7"),
        json!({
            "article_id": "a-7",
            "reactions": {"love": 0, "like": 1, "angry": 0, "cry": 0},
            "users": {"love": 0, "like": 1, "angry": 0, "cry": 0}
        })
    );
    assert_eq!(
        app.article_reactions("a-7", ""),
        json!({"article_id": "a-7", "reactions": [{"user_id": "u-42", "behavior": "like", "timestamp": "2026-01-01T00:00:00.123Z"}], "next_cursor": null})
    );
}

/// A user reacts to several articles with every behavior at different times, some articles
/// more than once; every listing by behavior returns exactly those records, newest first.
fn every_behavior_lists_and_counts(kind: StoreKind) {
    let app = TestApp::start(kind);
    let mut sent: Vec<(String, &str, String)> = Vec::new();
    for minute in 0..24_usize {
        let behavior = BEHAVIORS[minute % 4];
        let article = format!("a-{}", minute % 5);
        let timestamp = format!("2026-03-01T10:{minute:02}:00.{:03}Z", minute * 7);
        sent.push((article, behavior, timestamp));
    }
    let body: Vec<Value> = sent
        .iter()
        .map(|(article, behavior, time)| reaction("u-1", article, behavior, time))
        .collect();
    accept(&app, &Value::Array(body));
    accept(
        &app,
        &reaction("u-2", "a-0", "love", "2026-03-01T10:00:00Z"),
    );
    assert_eq!(app.wait_for_stored(25), StoredCount::both(25));

    let summary = app.user_summary("u-1");
    for behavior in BEHAVIORS {
        let mut expected: Vec<&(String, &str, String)> =
            sent.iter().filter(|(_, b, _)| *b == behavior).collect();
        expected.sort_by(|x, y| y.2.cmp(&x.2));
        let expected: Vec<Value> = expected
            .iter()
            .map(|(article, behavior, time)| json!({"article_id": article, "behavior": behavior, "timestamp": time}))
            .collect();

        let listed = app.user_reactions("u-1", &format!("behavior={behavior}"));
        assert_eq!(
            listed["reactions"],
            Value::Array(expected.clone()),
            "listing {behavior}"
        );

        let articles: BTreeSet<&String> = sent
            .iter()
            .filter(|(_, b, _)| *b == behavior)
            .map(|(a, _, _)| a)
            .collect();
        assert_eq!(
            summary["reactions"][behavior],
            expected.len(),
            "reactions.{behavior} in {summary}"
        );
        assert_eq!(
            summary["articles"][behavior],
            articles.len(),
            "articles.{behavior} in {summary}"
        );
    }

    let all = app.user_reactions("u-1", "");
    let times: Vec<&str> = all["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["timestamp"].as_str().unwrap())
        .collect();
    let mut newest_first = times.clone();
    newest_first.sort_by(|x, y| y.cmp(x));
    assert_eq!(times.len(), 24);
    assert_eq!(
        times, newest_first,
        "the unfiltered listing must be newest first"
    );
}

/// Ids with every kind of special character come back byte for byte from every endpoint.
fn special_ids_round_trip(kind: StoreKind) {
    let app = TestApp::start(kind);
    let ids = [
        "with space",
        "comma,and=equals",
        "double\"quote",
        "single'quote",
        "back\\slash",
        "trailing\\",
        "\\",
        "percent%20sign",
        "slash/and?query#frag",
        "日本語のユーザー",
        "emoji 🙂👍🏽",
        "x' OR 'a'='a",
        "'; DROP MEASUREMENT reactions_by_user; --",
        "  leading and trailing  ",
        &"é".repeat(64),
    ];

    let body: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            reaction(
                id,
                &article_of(id),
                BEHAVIORS[i % 4],
                "2026-02-01T00:00:00Z",
            )
        })
        .collect();
    accept(&app, &Value::Array(body));
    assert_eq!(
        app.wait_for_stored(ids.len() as u64),
        StoredCount::both(ids.len() as u64)
    );

    for (i, id) in ids.iter().enumerate() {
        let behavior = BEHAVIORS[i % 4];
        let article = article_of(id);

        let listed = app.user_reactions(id, "");
        assert_eq!(listed["user_id"], *id, "user id echoed for {id:?}");
        assert_eq!(
            listed["reactions"][0]["article_id"], article,
            "article id for user {id:?}"
        );
        assert_eq!(
            listed["reactions"].as_array().unwrap().len(),
            1,
            "one reaction for user {id:?}: {listed}"
        );

        let summary = app.user_summary(id);
        assert_eq!(
            summary["reactions"][behavior], 1,
            "summary of user {id:?}: {summary}"
        );

        let by_article = app.article_reactions(&article, "");
        assert_eq!(by_article["article_id"], article.as_str());
        assert_eq!(
            by_article["reactions"][0]["user_id"], *id,
            "user id for article {article:?}"
        );

        let article_summary = app.article_summary(&article);
        assert_eq!(
            article_summary["users"][behavior], 1,
            "summary of article {article:?}: {article_summary}"
        );
    }
}

/// Returns a distinct article id for each user id of the special-id test, within 128 bytes.
fn article_of(user_id: &str) -> String {
    user_id
        .chars()
        .rev()
        .chain(" (article)".chars())
        .collect::<String>()
        .chars()
        .take(60)
        .collect()
}

/// 10,000 reactions in 100 requests of 100 all reach the store and the summaries.
fn ten_thousand_reactions_in_batches(kind: StoreKind) {
    let app = TestApp::start(kind);
    let mut per_user: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut per_article: BTreeMap<String, [u64; 4]> = BTreeMap::new();

    for request in 0..100_usize {
        let mut body = Vec::with_capacity(100);
        for item in 0..100_usize {
            let n = request * 100 + item;
            let (user, article, behavior) = (
                format!("user-{}", n % 37),
                format!("article-{}", n % 23),
                n % 4,
            );
            let timestamp = 1_767_225_600_000_i64 + n as i64;
            body.push(json!({"user_id": user, "article_id": article, "behavior": BEHAVIORS[behavior], "timestamp": timestamp}));
            per_user.entry(user).or_default()[behavior] += 1;
            per_article.entry(article).or_default()[behavior] += 1;
        }
        let reply = app.post(&Value::Array(body));
        assert_eq!(
            (reply.status, &reply.body),
            (202, &json!({"accepted": 100})),
            "request {request}"
        );
    }

    assert_eq!(app.wait_for_stored(10_000), StoredCount::both(10_000));

    for (user, counts) in &per_user {
        let summary = app.user_summary(user);
        for (behavior, expected) in BEHAVIORS.iter().zip(counts) {
            assert_eq!(
                summary["reactions"][behavior], *expected,
                "{user} {behavior}: {summary}"
            );
        }
    }
    for (article, counts) in &per_article {
        let summary = app.article_summary(article);
        for (behavior, expected) in BEHAVIORS.iter().zip(counts) {
            assert_eq!(
                summary["reactions"][behavior], *expected,
                "{article} {behavior}: {summary}"
            );
        }
    }
}

fn unknown_ids_get_zeros(kind: StoreKind) {
    let app = TestApp::start(kind);
    let zeros = json!({"love": 0, "like": 0, "angry": 0, "cry": 0});

    let user = app.user_summary("nobody");
    assert_eq!(
        user,
        json!({"user_id": "nobody", "reactions": zeros, "articles": zeros})
    );

    let article = app.article_summary("nothing");
    assert_eq!(
        article,
        json!({"article_id": "nothing", "reactions": zeros, "users": zeros})
    );

    assert_eq!(app.user_reactions("nobody", "")["reactions"], json!([]));
}

/// Ids that look like InfluxQL return their own (empty) answer and change nothing.
fn injection_ids_stay_literal(kind: StoreKind) {
    let app = TestApp::start(kind);
    accept(
        &app,
        &reaction("victim", "a-1", "like", "2026-01-01T00:00:00Z"),
    );
    assert_eq!(app.wait_for_stored(1), StoredCount::both(1));

    for id in [
        "x' OR 'a'='a",
        "x\\",
        "'; DROP MEASUREMENT reactions_by_user; --",
        "victim' OR user_id =~ /.*/ --",
        ".*",
    ] {
        let summary = app.user_summary(id);
        assert_eq!(
            summary["reactions"]["like"], 0,
            "{id:?} must not match other users: {summary}"
        );
        assert_eq!(app.user_reactions(id, "")["reactions"], json!([]), "{id:?}");
        assert_eq!(app.article_summary(id)["users"]["like"], 0, "{id:?}");
    }

    assert_eq!(
        app.stored(),
        StoredCount::both(1),
        "the data must be untouched"
    );
    assert_eq!(app.user_summary("victim")["reactions"]["like"], 1);
}

fn bad_query_parameters_are_rejected(kind: StoreKind) {
    let app = TestApp::start(kind);
    let cases = [
        ("/v1/users/u/reactions?behavior=meh", "behavior"),
        ("/v1/users/u/reactions?limit=0", "limit"),
        ("/v1/users/u/reactions?limit=1001", "limit"),
        ("/v1/users/u/reactions?limit=ten", "limit"),
        ("/v1/users/u/reactions/summary?from=yesterday", "from"),
        ("/v1/articles/a/reactions?to=2026-13-01T00:00:00Z", "to"),
        (
            "/v1/articles/a/reactions/summary?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/v1/users/%FF/reactions", "user_id"),
        ("/v1/articles/%0A/reactions/summary", "article_id"),
    ];
    for (path, parameter) in cases {
        let reply = app.get(path);
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert_eq!(
            reply.body["details"][0]["parameter"], parameter,
            "{path}: {reply:?}"
        );
        assert!(
            reply.body["error"]
                .as_str()
                .is_some_and(|e| e.contains(parameter)),
            "{path}: {reply:?}"
        );
    }
}

/// A client that retries after a timeout sends the same reaction with the same timestamp
/// again; the store keeps one. Reactions without a timestamp are separate events.
fn retried_reaction_is_stored_once(kind: StoreKind) {
    let app = TestApp::start(kind);
    let same = reaction("u-1", "a-1", "like", "2026-01-01T00:00:00.500Z");
    accept(&app, &same);
    accept(&app, &same);
    accept(&app, &json!([same.clone(), same.clone()]));

    let untimed = json!({"user_id": "u-2", "article_id": "a-1", "behavior": "cry"});
    accept(&app, &Value::Array(vec![untimed; 50]));

    assert_eq!(app.wait_for_stored(51), StoredCount::both(51));
    assert_eq!(app.user_summary("u-1")["reactions"]["like"], 1);
    assert_eq!(app.user_summary("u-2")["reactions"]["cry"], 50);
}

/// Reactions that share an article, behavior and millisecond but not a user (and the other
/// way round) are all stored. The ids are fixed, so the store times they hash to are too.
fn distinct_reactions_never_overwrite(kind: StoreKind) {
    let app = TestApp::start(kind);
    let time = "2026-01-01T00:00:00.001Z";
    let users: Vec<Value> = (0..100)
        .map(|i| reaction(&format!("u-{i}"), "hot", "love", time))
        .collect();
    let articles: Vec<Value> = (0..100)
        .map(|i| reaction("fan", &format!("a-{i}"), "love", time))
        .collect();
    accept(&app, &Value::Array(users));
    accept(&app, &Value::Array(articles));

    let untimed: Vec<Value> = (0..50)
        .map(|i| json!({"user_id": format!("v-{i}"), "article_id": "hot", "behavior": "cry"}))
        .collect();
    accept(&app, &Value::Array(untimed));

    assert_eq!(app.wait_for_stored(250), StoredCount::both(250));
    assert_eq!(app.article_summary("hot")["users"]["love"], 100);
    assert_eq!(app.article_summary("hot")["users"]["cry"], 50);
    assert_eq!(app.user_summary("fan")["articles"]["love"], 100);
    assert_eq!(
        app.article_reactions("hot", "behavior=love&limit=1000")["reactions"]
            .as_array()
            .map(Vec::len),
        Some(100)
    );
}
