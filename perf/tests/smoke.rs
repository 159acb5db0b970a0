//! Short runs of `perf maxrps` and `perf soak` against a stack that perf starts itself
//! (InfluxDB, ingest, query, ceiling server), so that both commands keep working. They check
//! that each command runs to the end and writes its report, not the figures, which depend on
//! the machine. The full runs are for people and the nightly job.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Returns the directory of the perf binary under test, where `cargo build --workspace --bins`
/// has put ingest and query too.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_perf"))
        .parent()
        .expect("the perf binary has a directory")
        .to_path_buf()
}

fn perf() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_perf"));
    command.env("RUST_LOG", "info,goose=warn");
    command
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

#[test]
fn maxrps_reports_every_step() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let status = perf()
        .args(["maxrps", "--scenario", "mixed", "--steps", "40,80"])
        .args(["--step-duration", "3s", "--step-warmup", "1s"])
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--report-dir")
        .arg(dir.path())
        .status()
        .expect("cannot run perf maxrps");
    assert!(status.success(), "perf maxrps exited with {status}");

    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("maxrps.json"))).expect("maxrps.json is JSON");
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["scenario"], "mixed");
    let steps = scenario["service"]["steps"]
        .as_array()
        .expect("service steps");
    assert!(!steps.is_empty(), "no step was run: {scenario}");
    let first = &steps[0];
    assert!(
        first["counts"]["success"].as_u64() > Some(0),
        "no request succeeded: {first}"
    );
    let processes: Vec<&str> = first["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .filter_map(|cpu| cpu["process"].as_str())
        .collect();
    assert_eq!(
        processes,
        ["ingest", "query", "influxd"],
        "CPU is read for every service"
    );
    assert!(
        scenario["ceiling"]["steps"]
            .as_array()
            .is_some_and(|steps| !steps.is_empty()),
        "the ceiling server was not measured: {scenario}"
    );
    assert!(read(&dir.path().join("maxrps.md")).contains("## mixed"));
}

#[test]
fn soak_stores_every_accepted_reaction() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    // The RSS bound is loose because 20 seconds of a fresh ingest show its warm-up, not a
    // trend; the rss_gate tests check that gate.
    let status = perf()
        .args([
            "soak",
            "--rate",
            "100",
            "--duration",
            "20s",
            "--warmup",
            "5s",
        ])
        .args([
            "--sample-interval",
            "1s",
            "--max-rss-slope-mb-per-hour",
            "100000",
        ])
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--report-dir")
        .arg(dir.path())
        .status()
        .expect("cannot run perf soak");

    let summary = read(&dir.path().join("summary.md"));
    assert!(
        status.success(),
        "perf soak exited with {status}:\n{summary}"
    );
    let exactly_once = summary
        .lines()
        .find(|line| line.starts_with("| accepted == stored"))
        .unwrap_or_else(|| panic!("no delivery gate:\n{summary}"));
    assert!(exactly_once.contains("| Passed |"), "{summary}");
    let samples = read(&dir.path().join("samples.csv"));
    assert!(samples.lines().count() > 10, "too few samples:\n{samples}");
    for plot in ["rss.svg", "throughput.svg", "p99.svg"] {
        assert!(dir.path().join(plot).exists(), "{plot} is missing");
    }
}
