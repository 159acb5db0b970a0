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

# Tools for the deployment checks in tests/tests/deploy.rs, which fail when one is missing:
# docker-compose 1.29 validates docker-compose.yml, groovy parses the Jenkinsfile, and the
# prometheus package brings promtool and the server of the native stack (scripts/stack.sh).
# --no-install-recommends keeps docker-compose from pulling in the Docker engine. Installing
# prometheus starts no server here unless systemd runs; the tests use their own ports anyway.
deploy_packages=()
command -v docker-compose >/dev/null 2>&1 || deploy_packages+=(docker-compose)
command -v groovy >/dev/null 2>&1 || deploy_packages+=(groovy)
command -v promtool >/dev/null 2>&1 || deploy_packages+=(prometheus)
if [ "${#deploy_packages[@]}" -gt 0 ]; then
    echo "test.sh: installing ${deploy_packages[*]} for the deployment checks" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${deploy_packages[@]}" >/dev/null
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The black-box tests run the binaries from target/debug, so build them first.
cargo build --workspace --bins --locked
cargo test --workspace --locked
