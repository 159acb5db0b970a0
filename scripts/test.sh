#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, unit and property tests, and the black-box
# tests against a real InfluxDB and the real binaries. On a Debian or Ubuntu machine without
# InfluxDB it installs the distribution's `influxdb` package first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v influxd >/dev/null 2>&1; then
    echo "test.sh: influxd not found; installing the influxdb package" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq influxdb >/dev/null
fi
echo "test.sh: using $(influxd version)" >&2

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The black-box tests run the binaries from target/debug, so build them first.
cargo build --workspace --bins --locked
cargo test --workspace --locked
