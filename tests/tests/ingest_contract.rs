//! The ingest API contract: what is accepted, what is rejected with which status and field,
//! and that a rejected request stores nothing.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use reactions_tests::app::{Reply, StoredCount, TestApp};
use reactions_tests::{StoreKind, on_both_stores};
use serde_json::{Value, json};

on_both_stores!(invalid_requests_store_nothing, accepted_formats_are_stored);

/// One request that must be rejected.
struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
    body: Vec<u8>,
    status: u16,
    /// The field the first detail must name; `None` for errors without details.
    field: Option<&'static str>,
}

fn json_case(name: &'static str, body: Value, status: u16, field: Option<&'static str>) -> Case {
    Case {
        name,
        content_type: Some("application/json"),
        headers: &[],
        body: serde_json::to_vec(&body).unwrap(),
        status,
        field,
    }
}

fn reaction(user: &str, article: &str, behavior: &str) -> Value {
    json!({"user_id": user, "article_id": article, "behavior": behavior, "timestamp": "2026-01-01T00:00:00.123Z"})
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn invalid_cases() -> Vec<Case> {
    let good = reaction("u-1", "a-1", "like");
    let mut cases = vec![
        Case {
            name: "missing content type",
            content_type: None,
            headers: &[],
            body: serde_json::to_vec(&good).unwrap(),
            status: 415,
            field: None,
        },
        Case {
            name: "text/plain",
            content_type: Some("text/plain"),
            headers: &[],
            body: serde_json::to_vec(&good).unwrap(),
            status: 415,
            field: None,
        },
        Case {
            name: "non-UTF-8 charset",
            content_type: Some("application/json; charset=latin1"),
            headers: &[],
            body: serde_json::to_vec(&good).unwrap(),
            status: 415,
            field: None,
        },
        Case {
            name: "unknown content encoding",
            content_type: Some("application/json"),
            headers: &[("content-encoding", "br")],
            body: serde_json::to_vec(&good).unwrap(),
            status: 415,
            field: None,
        },
        Case {
            name: "unparseable JSON",
            content_type: Some("application/json"),
            headers: &[],
            body: b"{\"user_id\": \"u-1\",".to_vec(),
            status: 400,
            field: None,
        },
        Case {
            name: "invalid UTF-8 in a string",
            content_type: Some("application/json"),
            headers: &[],
            body: b"{\"user_id\": \"u\xff\", \"article_id\": \"a\", \"behavior\": \"like\"}"
                .to_vec(),
            status: 400,
            field: None,
        },
        Case {
            name: "corrupt gzip",
            content_type: Some("application/json"),
            headers: &[("content-encoding", "gzip")],
            body: b"not gzip at all".to_vec(),
            status: 400,
            field: None,
        },
        Case {
            name: "body over the limit",
            content_type: Some("application/json"),
            headers: &[],
            body: serde_json::to_vec(&vec![good.clone(); 100]).unwrap(),
            status: 413,
            field: None,
        },
        Case {
            name: "gzip that expands over the limit",
            content_type: Some("application/json"),
            headers: &[("content-encoding", "gzip")],
            body: gzip(&vec![b' '; 1 << 20]),
            status: 413,
            field: None,
        },
        Case {
            name: "bad NDJSON line",
            content_type: Some("application/x-ndjson"),
            headers: &[],
            body: b"{\"user_id\": \"u\", \"article_id\": \"a\", \"behavior\": \"like\"}\n{oops\n"
                .to_vec(),
            status: 400,
            field: None,
        },
    ];

    let field_cases = [
        (
            "user_id as a number",
            json!({"user_id": 1, "article_id": "a", "behavior": "like"}),
            "user_id",
        ),
        (
            "missing article_id",
            json!({"user_id": "u", "behavior": "like"}),
            "article_id",
        ),
        (
            "missing user_id",
            json!({"article_id": "a", "behavior": "like"}),
            "user_id",
        ),
        (
            "unknown behavior",
            json!({"user_id": "u", "article_id": "a", "behavior": "meh"}),
            "behavior",
        ),
        (
            "capitalized behavior",
            json!({"user_id": "u", "article_id": "a", "behavior": "Like"}),
            "behavior",
        ),
        (
            "behavior as a number",
            json!({"user_id": "u", "article_id": "a", "behavior": 2}),
            "behavior",
        ),
        (
            "empty user_id",
            json!({"user_id": "", "article_id": "a", "behavior": "like"}),
            "user_id",
        ),
        (
            "129-byte article_id",
            json!({"user_id": "u", "article_id": "x".repeat(129), "behavior": "like"}),
            "article_id",
        ),
        (
            "newline in user_id",
            json!({"user_id": "u\n1", "article_id": "a", "behavior": "like"}),
            "user_id",
        ),
        (
            "tab in article_id",
            json!({"user_id": "u", "article_id": "a\t1", "behavior": "like"}),
            "article_id",
        ),
        (
            "unparseable timestamp",
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "yesterday"}),
            "timestamp",
        ),
        (
            "fractional timestamp",
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": 1.5}),
            "timestamp",
        ),
        (
            "timestamp before 2000",
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "1999-12-31T23:59:59Z"}),
            "timestamp",
        ),
        (
            "timestamp a day ahead",
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": "2099-01-01T00:00:00Z"}),
            "timestamp",
        ),
        (
            "timestamp as a boolean",
            json!({"user_id": "u", "article_id": "a", "behavior": "like", "timestamp": true}),
            "timestamp",
        ),
    ];
    for (name, body, field) in field_cases {
        cases.push(json_case(name, body, 422, Some(field)));
    }

    cases.push(json_case(
        "one bad item among good ones",
        json!([good.clone(), {"user_id": "u"}, good.clone()]),
        422,
        Some("article_id"),
    ));
    cases.push(json_case(
        "array item that is not an object",
        json!([good.clone(), "like"]),
        422,
        None,
    ));
    cases.push(json_case("empty array", json!([]), 422, None));
    cases
}

fn invalid_requests_store_nothing(kind: StoreKind) {
    let app = TestApp::start_with(kind, &["--max-body-bytes", "4096"]);

    for case in invalid_cases() {
        let reply = app.post_raw(case.content_type, case.body, case.headers);
        check_rejection(case.name, case.status, case.field, &reply);
    }

    // A valid request after all the invalid ones: once it is stored, anything the invalid
    // requests had queued would be stored too.
    let sentinel = app.post(&reaction("sentinel", "a-1", "love"));
    assert_eq!(sentinel.status, 202, "{sentinel:?}");
    assert_eq!(
        app.wait_for_stored(1),
        StoredCount::both(1),
        "only the sentinel may be stored"
    );
}

fn check_rejection(name: &str, status: u16, field: Option<&str>, reply: &Reply) {
    assert_eq!(reply.status, status, "case {name:?}: {reply:?}");
    assert!(
        reply.body["error"].is_string(),
        "case {name:?}: no error message in {reply:?}"
    );
    assert!(
        reply.body["details"].is_array(),
        "case {name:?}: no details array in {reply:?}"
    );

    if status == 422 {
        let detail = &reply.body["details"][0];
        assert_eq!(detail["field"].as_str(), field, "case {name:?}: {reply:?}");
        assert!(
            detail["index"].is_u64(),
            "case {name:?}: detail has no index: {reply:?}"
        );
        assert!(
            detail["reason"]
                .as_str()
                .is_some_and(|reason| !reason.is_empty()),
            "case {name:?}: {reply:?}"
        );
    }
}

fn accepted_formats_are_stored(kind: StoreKind) {
    let app = TestApp::start(kind);

    let single = app.post(&reaction("u-1", "a-1", "like"));
    assert_eq!(
        (single.status, &single.body),
        (202, &json!({"accepted": 1}))
    );

    let array = app.post(&json!([
        reaction("u-2", "a-1", "love"),
        reaction("u-3", "a-1", "cry")
    ]));
    assert_eq!((array.status, &array.body), (202, &json!({"accepted": 2})));

    let ndjson = format!(
        "{}\n\n{}\n",
        reaction("u-4", "a-2", "angry"),
        reaction("u-5", "a-2", "like")
    );
    let reply = app.post_raw(Some("application/x-ndjson"), ndjson.into_bytes(), &[]);
    assert_eq!((reply.status, &reply.body), (202, &json!({"accepted": 2})));

    let compressed = gzip(&serde_json::to_vec(&reaction("u-6", "a-3", "like")).unwrap());
    let reply = app.post_raw(
        Some("application/json"),
        compressed,
        &[("content-encoding", "gzip")],
    );
    assert_eq!((reply.status, &reply.body), (202, &json!({"accepted": 1})));

    let body = serde_json::to_vec(&reaction("u-7", "a-3", "love")).unwrap();
    let reply = app.post_raw(Some("application/json; charset=UTF-8"), body, &[]);
    assert_eq!((reply.status, &reply.body), (202, &json!({"accepted": 1})));

    assert_eq!(app.wait_for_stored(7), StoredCount::both(7));
}
