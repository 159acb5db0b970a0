//! The soak's RSS gate against the ceiling server: it must fail when the server leaks a fixed
//! number of bytes per request, and pass when it does not. Both soaks run at once, so the pair
//! takes about as long as one.

use std::path::Path;
use std::process::Command;

use reactions_tests::process::Service;

/// 16 KiB per request at 150 requests/s is about 8,800 MB per hour, far over the bound, while
/// a server that keeps nothing stays within a few MB of flat after its warm-up.
const LEAK_BYTES_PER_REQUEST: &str = "16384";
const MAX_RSS_SLOPE_MB_PER_HOUR: &str = "300";

/// Runs a 60-second soak against a ceiling server started with `leak_bytes`, and returns
/// whether perf passed, with the summary.
fn soak_against_ceiling(leak_bytes: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let ceiling = Service::start(
        "perf",
        &[
            "ceiling".to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--leak-bytes-per-request".to_owned(),
            leak_bytes.to_owned(),
        ],
        dir.path(),
    );
    let report_dir = dir.path().join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_perf"))
        .args(["soak", "--ingest-url", &ceiling.url("")])
        .args(["--ingest-pid", &ceiling.pid().to_string()])
        .args(["--rate", "150", "--duration", "60s", "--warmup", "15s"])
        .args(["--sample-interval", "1s"])
        .args(["--max-rss-slope-mb-per-hour", MAX_RSS_SLOPE_MB_PER_HOUR])
        .arg("--report-dir")
        .arg(&report_dir)
        .status()
        .expect("cannot run perf soak");
    (status.success(), read(&report_dir.join("summary.md")))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn rss_gate_line(summary: &str) -> &str {
    summary
        .lines()
        .find(|line| line.starts_with("| RSS slope"))
        .unwrap_or_else(|| panic!("the summary has no RSS gate:\n{summary}"))
}

#[test]
fn leaking_server_fails_rss_gate() {
    let (passed, summary) = soak_against_ceiling(LEAK_BYTES_PER_REQUEST);
    assert!(
        !passed,
        "perf soak passed against a leaking server:\n{summary}"
    );
    assert!(rss_gate_line(&summary).contains("| Failed |"), "{summary}");
}

#[test]
fn steady_server_passes_rss_gate() {
    let (passed, summary) = soak_against_ceiling("0");
    assert!(rss_gate_line(&summary).contains("| Passed |"), "{summary}");
    assert!(
        passed,
        "perf soak failed against a server that keeps nothing:\n{summary}"
    );
}
