#!/usr/bin/env bash
# The one place that runs the perf tool (the workspace crate `perf`), against the QA stack.
#
#   scripts/ci/perf.sh smoke   # short maxrps run, PERF_SMOKE_DURATION (default 60s)
#   scripts/ci/perf.sh soak    # SOAK_DURATION (default 2h) at SOAK_RATE reactions/s (default 1000)
#
# Reports go to $REPORT_DIR/perf/<mode>, and a JUnit XML case to $REPORT_DIR/junit/perf-<mode>.xml.
# The exit status is perf's, which fails when a gate of the run fails.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

mode="${1:?usage: scripts/ci/perf.sh smoke|soak}"
report="$REPORT_DIR/perf/$mode"
mkdir -p "$report" "$REPORT_DIR/junit"

case "$mode" in
    smoke) args=(maxrps --duration "${PERF_SMOKE_DURATION:-60s}") ;;
    soak) args=(soak --duration "${SOAK_DURATION:-2h}" --rate "${SOAK_RATE:-1000}") ;;
    *)
        echo "perf.sh: unknown mode '$mode'; use smoke or soak" >&2
        exit 2
        ;;
esac

started=$SECONDS
status=0
cargo run --release --locked -p perf -- "${args[@]}" \
    --ingest-url "$INGEST_URL" --query-url "$QUERY_URL" --report-dir "$report" || status=$?

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
