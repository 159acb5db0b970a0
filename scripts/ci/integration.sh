#!/usr/bin/env bash
# Runs the workspace's unit, property and black-box tests with cargo-nextest and writes JUnit
# XML to $REPORT_DIR/junit/integration.xml. The black-box tests start their own influxd and
# binaries on loopback ports, so the agent needs Debian's influxdb package as scripts/test.sh
# does.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$repo_root"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi

# The black-box tests run the binaries from target/debug.
cargo build --workspace --bins --locked
status=0
cargo nextest run --workspace --locked --profile ci || status=$?
mkdir -p "$REPORT_DIR/junit"
cp target/nextest/ci/junit.xml "$REPORT_DIR/junit/integration.xml"
exit "$status"
