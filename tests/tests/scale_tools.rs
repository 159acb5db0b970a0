//! The scale tools on a tiny dataset: `dataset` loads a store, the query service's summaries
//! match the counts in its manifest, and `query_bench` measures every scenario without errors.

use std::path::Path;
use std::process::{Command, Output};

use reactions_tests::app::DATABASE;
use reactions_tests::process::Service;
use reactions_tests::scale::bench::{Report, SCENARIOS};
use reactions_tests::scale::manifest::Manifest;
use reactions_tests::{Influxd, StoreKind, on_both_stores};
use shared::behavior::BehaviorCounts;

on_both_stores!(tiny_dataset_loads_and_benchmarks);

const REACTIONS: u64 = 2_000;
const ARTICLES: usize = 40;

fn tiny_dataset_loads_and_benchmarks(kind: StoreKind) {
    let work = tempfile::tempdir().expect("cannot create a temporary directory");
    let influxd = (kind == StoreKind::Influx).then(Influxd::start);
    let store = store_args(influxd.as_ref(), &work.path().join("store"));

    let manifest_path = work.path().join("manifest.json");
    let mut dataset = Command::new(env!("CARGO_BIN_EXE_dataset"));
    dataset
        .args(["--reactions", &REACTIONS.to_string()])
        .args(["--users", "300", "--articles", &ARTICLES.to_string()])
        .args(["--seed", "7", "--batch-reactions", "500", "--writers", "2"])
        .arg("--manifest")
        .arg(&manifest_path)
        .args(&store);
    let output = run(dataset);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("hottest articles: a-"), "{stdout}");

    let manifest = Manifest::read(&manifest_path).expect("dataset wrote no valid manifest");
    assert_eq!(manifest.reactions, REACTIONS);
    assert_eq!(manifest.behaviors.total(), REACTIONS);
    assert_eq!(manifest.stored.by_user, REACTIONS);
    assert_eq!(manifest.stored.by_article, REACTIONS);
    assert_eq!(manifest.hottest_articles.len(), 10);
    assert!(
        manifest
            .hottest_articles
            .windows(2)
            .all(|pair| pair[0].total >= pair[1].total),
        "hottest articles are not sorted: {:?}",
        manifest.hottest_articles
    );

    let mut query_args = vec!["--listen", "127.0.0.1:0", "--cache-ttl", "0s"];
    query_args.extend(store.iter().map(String::as_str));
    let query_args: Vec<String> = query_args.into_iter().map(str::to_owned).collect();
    let query = Service::start("query", &query_args, work.path());

    check_summaries(&query, &manifest);
    check_benchmark(&query, &manifest_path, work.path());
}

/// Compares the service's summaries with the generated counts: the hottest users and
/// articles per behavior, and the sum over every article.
fn check_summaries(query: &Service, manifest: &Manifest) {
    for hot in &manifest.hottest_users {
        let summary = get_json(query, &format!("/v1/users/{}/reactions/summary", hot.id));
        assert_eq!(counts(&summary), hot.reactions, "user {}", hot.id);
    }
    for hot in &manifest.hottest_articles {
        let summary = get_json(query, &format!("/v1/articles/{}/reactions/summary", hot.id));
        assert_eq!(counts(&summary), hot.reactions, "article {}", hot.id);
    }

    let all_articles: u64 = (0..ARTICLES)
        .map(|rank| {
            let path = format!("/v1/articles/a-{rank}/reactions/summary");
            counts(&get_json(query, &path)).total()
        })
        .sum();
    assert_eq!(all_articles, REACTIONS);
}

fn check_benchmark(query: &Service, manifest_path: &Path, work: &Path) {
    let json_path = work.join("bench.json");
    let mut bench = Command::new(env!("CARGO_BIN_EXE_query_bench"));
    bench
        .args(["--url", &query.url("")])
        .arg("--manifest")
        .arg(manifest_path)
        .args(["--clients", "2", "--duration", "300ms", "--warmup", "0s"])
        .arg("--json")
        .arg(&json_path);
    let output = run(bench);

    let table = String::from_utf8_lossy(&output.stdout);
    let rows = table.lines().filter(|line| line.starts_with("| ")).count();
    assert_eq!(
        rows,
        SCENARIOS.len() + 1,
        "a header and one row each:\n{table}"
    );

    let text = std::fs::read_to_string(&json_path).expect("query_bench wrote no JSON");
    let report: Report = serde_json::from_str(&text).expect("the JSON report is malformed");
    assert_eq!(report.results.len(), SCENARIOS.len());
    for result in &report.results {
        assert!(result.requests > 0, "{result:?}");
        assert_eq!(result.errors, 0, "{result:?}");
        assert!(result.p50_ms <= result.p99_ms, "{result:?}");
        assert!(result.p99_ms <= result.max_ms, "{result:?}");
    }
}

fn store_args(influxd: Option<&Influxd>, data_dir: &Path) -> Vec<String> {
    match influxd {
        Some(influxd) => vec![
            "--influx-url".to_owned(),
            influxd.url(""),
            "--influx-db".to_owned(),
            DATABASE.to_owned(),
        ],
        None => vec!["--data-dir".to_owned(), data_dir.display().to_string()],
    }
}

/// Runs a tool to completion and fails the test with its output if it fails.
fn run(mut command: Command) -> Output {
    let output = command.output().expect("cannot run the tool");
    assert!(
        output.status.success(),
        "{command:?} failed with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn get_json(query: &Service, path: &str) -> serde_json::Value {
    let response = reqwest::blocking::get(query.url(path)).expect("GET to query failed to send");
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    response.json().expect("query returned no JSON")
}

fn counts(summary: &serde_json::Value) -> BehaviorCounts {
    serde_json::from_value(summary["reactions"].clone())
        .unwrap_or_else(|error| panic!("summary {summary} has no reaction counts: {error}"))
}
