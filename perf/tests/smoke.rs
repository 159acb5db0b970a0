//! Short runs of `perf maxrps`, `perf soak` and `perf capacity` against a stack that perf
//! starts itself (InfluxDB, ingest, query, ceiling server), so that the commands keep working.
//! They check that each command runs to the end and writes its report, not the figures, which
//! depend on the machine. The full runs are for people and the nightly job. `perf capacity`
//! creates cgroups, so these tests run as root, as CI does.

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

/// Runs `perf capacity` with tiny steps and returns its JSON report and Markdown.
fn capacity(extra: &[&str]) -> (serde_json::Value, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let output = perf()
        .arg("capacity")
        .args(["--steps", "40,80", "--query-steps", "20", "--refine", "0"])
        .args(["--step-duration", "2s", "--step-warmup", "1s"])
        .args(extra)
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--report-dir")
        .arg(dir.path())
        .output()
        .expect("cannot run perf capacity");
    assert!(
        output.status.success(),
        "perf capacity exited with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_str(&read(&dir.path().join("capacity.json")))
        .expect("capacity.json is JSON");
    let markdown = read(&dir.path().join("capacity.md"));
    (report, markdown, dir)
}

/// Returns the steps one service ran under a profile, checking that requests succeeded.
fn served_steps<'a>(profile: &'a serde_json::Value, service: &str) -> &'a Vec<serde_json::Value> {
    let steps = profile[service]["search"]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no {service} steps: {profile}"));
    assert!(
        steps
            .first()
            .is_some_and(|step| step["counts"]["success"].as_u64() > Some(0)),
        "{service} answered nothing: {profile}"
    );
    steps
}

#[test]
fn capacity_in_cgroups_sizes_replicas() {
    let (report, markdown, dir) = capacity(&[
        "--profiles",
        "0.5cpu-128mb,1cpu-256mb",
        "--hold",
        "2s",
        "--target-rps",
        "1000",
        "--headroom",
        "30%",
        "--query-target-rps",
        "200",
    ]);

    let profiles = report["profiles"].as_array().expect("profiles");
    let names: Vec<&str> = profiles.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["0.5cpu-128mb", "1cpu-256mb"]);
    for profile in profiles {
        let confinement = profile["confinement"].as_str().unwrap_or_default();
        assert!(confinement.starts_with("cgroup v"), "{confinement}");
        let ingest = served_steps(profile, "ingest");
        assert!(
            ingest[0]["peak_cgroup_mb"].as_f64() > Some(0.0),
            "the cgroup's memory is read: {}",
            ingest[0]
        );
        assert!(
            ingest[0]["service_cores"].as_f64().is_some(),
            "{}",
            ingest[0]
        );
        // The kernel counts CFS periods only for a cgroup with a CPU quota.
        assert!(
            ingest[0]["throttled_fraction"].as_f64().is_some(),
            "the CPU quota is applied: {}",
            ingest[0]
        );
        served_steps(profile, "query");
        assert_eq!(profile["holds"][0]["duration_s"], 2.0, "{profile}");
        assert_eq!(profile["oom_kills"], 0, "{profile}");
    }

    let sizing = &report["sizing"];
    for row in sizing["ingest"].as_array().expect("ingest sizing") {
        if let Some(max) = row["max_rps"].as_f64() {
            let expected = (1000.0 * 1.3 / max).ceil();
            assert_eq!(row["replicas"].as_f64(), Some(expected), "{row}");
        }
    }
    assert_eq!(sizing["store"]["points_per_s"], 2000.0, "{sizing}");
    assert_eq!(sizing["query"]["target_rps"], 200, "{sizing}");
    assert!(
        markdown.contains("## Replicas for the target"),
        "{markdown}"
    );
    for plot in ["latency-ingest.svg", "latency-query.svg"] {
        assert!(dir.path().join(plot).exists(), "{plot} is missing");
    }
}

#[test]
fn capacity_with_taskset_reports_it() {
    let (report, markdown, _dir) = capacity(&[
        "--profiles",
        "0.5cpu-128mb",
        "--confine",
        "taskset",
        "--no-query",
    ]);

    let profile = &report["profiles"][0];
    let confinement = profile["confinement"].as_str().unwrap_or_default();
    assert!(confinement.starts_with("taskset -c "), "{confinement}");
    assert_eq!(profile["quota_cores"], 1.0, "taskset gives whole cores");
    served_steps(profile, "ingest");
    assert!(profile["query"].is_null(), "query was not asked for");
    assert!(markdown.contains("taskset"), "{markdown}");
}
