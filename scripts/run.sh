#!/usr/bin/env bash
# Builds ingest and query in release mode and runs both on the embedded store until Ctrl-C.
# Flags and environment variables (INFLUX_URL and the rest, see the README) pass through to
# both binaries, so `scripts/run.sh --influx-url http://127.0.0.1:8086` uses InfluxDB instead.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bins -p ingest -p query

bin_dir="${CARGO_TARGET_DIR:-target}/release"
ingest_listen="${INGEST_LISTEN:-127.0.0.1:8080}"
query_listen="${QUERY_LISTEN:-127.0.0.1:8081}"

"$bin_dir/ingest" --listen "$ingest_listen" "$@" &
ingest_pid=$!
"$bin_dir/query" --listen "$query_listen" "$@" &
query_pid=$!

stop() {
    kill -TERM "$ingest_pid" "$query_pid" 2>/dev/null || true
    wait "$ingest_pid" "$query_pid" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo "ingest: http://$ingest_listen/v1/reactions   query: http://$query_listen/v1/users/{user_id}/reactions/summary"
echo "Press Ctrl-C to stop both."
wait -n "$ingest_pid" "$query_pid"
