#!/usr/bin/env bash
# The one place that runs the perf tool (the workspace crate `perf`), against the QA stack.
#
#   scripts/ci/perf.sh smoke   # short maxrps run, PERF_SMOKE_DURATION (default 60s)
#   scripts/ci/perf.sh soak    # SOAK_DURATION (default 2h) at SOAK_RATE reactions/s (default 1000)
#   scripts/ci/perf.sh capacity  # maximum rate per CAPACITY_PROFILES and replicas for CAPACITY_TARGET_RPS
#
# Reports go to $REPORT_DIR/perf/<mode>, and a JUnit XML case to $REPORT_DIR/junit/perf-<mode>.xml.
# The exit status is perf's, which fails when a gate of the run fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

mode="${1:?usage: scripts/ci/perf.sh smoke|soak|capacity}"
report="$REPORT_DIR/perf/$mode"
mkdir -p "$report" "$REPORT_DIR/junit"

case "$mode" in
    smoke) args=(maxrps --duration "${PERF_SMOKE_DURATION:-60s}" --ingest-url "$INGEST_URL" --query-url "$QUERY_URL") ;;
    # The soak starts its own InfluxDB, ingest and query: it needs the store's count and the
    # processes' sockets for its accepted == stored and connection gates, which the QA stack
    # does not expose.
    soak) args=(soak --duration "${SOAK_DURATION:-2h}" --rate "${SOAK_RATE:-1000}") ;;
    # Capacity confines its own ingest and query with cgroups, which needs root on the agent;
    # without it perf pins CPUs with taskset and names that method in the report.
    capacity)
        args=(capacity --profiles "${CAPACITY_PROFILES:-0.5cpu-128mb,1cpu-256mb}"
            --target-rps "${CAPACITY_TARGET_RPS:-2000}" --headroom "${CAPACITY_HEADROOM:-30%}"
            --query-target-rps "${CAPACITY_QUERY_TARGET_RPS:-500}"
            --read-mix "${CAPACITY_READ_MIX:-user-summary=1,user-list=1,article-summary=1,article-list=1}"
            --hold "${CAPACITY_HOLD:-2m}")
        ;;
    *)
        echo "perf.sh: unknown mode '$mode'; use smoke, soak or capacity" >&2
        exit 2
        ;;
esac

# perf starts ingest and query from its own directory (target/release) when it runs the stack.
cargo build --release --locked -p ingest -p query

started=$SECONDS
status=0
cargo run --release --locked -p perf -- "${args[@]}" --report-dir "$report" || status=$?

failure=""
if [ "$status" -ne 0 ]; then
    failure="<failure message=\"perf $mode exited with status $status; see $report\"/>"
fi
cat >"$REPORT_DIR/junit/perf-$mode.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="perf" tests="1" failures="$([ "$status" -eq 0 ] && echo 0 || echo 1)">
    <testcase classname="perf" name="$mode" time="$((SECONDS - started))">$failure</testcase>
</testsuite></testsuites>
XML
exit "$status"
