#!/usr/bin/env bash
# For each store, loads the scale dataset (into a private InfluxDB, or into the embedded store
# in a temporary directory) and runs query_bench against a query service on it. It measures
# every scenario with the summary cache off, the hottest ids' scenarios again with one client,
# and the hottest article's summary with the default cache. Results go to $OUT, and
# BENCHMARKS.md ("Query at scale") records a run. Every process it starts is stopped on exit,
# by PID.
#
# Environment variables, with defaults: STORES ["influxdb embedded"], SETTLE [120] (seconds
# between a load and its benchmark), REACTIONS [5000000], USERS [500000], ARTICLES [50000],
# SEED [1], CLIENTS [8], DURATION [20s], OUT [target/bench-query]. Large temporary data goes
# to $TMPDIR and is deleted at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

STORES=${STORES:-influxdb embedded}
SETTLE=${SETTLE:-120}
REACTIONS=${REACTIONS:-5000000}
USERS=${USERS:-500000}
ARTICLES=${ARTICLES:-50000}
SEED=${SEED:-1}
CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-20s}
OUT=${OUT:-target/bench-query}
BIN=target/release

mkdir -p "$OUT"
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Waits up to 60 s for $1 to contain a line matching the jq filter $2 and prints the match.
wait_for_json() {
    for _ in $(seq 600); do
        local found
        found=$(jq -r "$2" "$1" 2>/dev/null | head -n 1)
        if [ -n "$found" ]; then
            echo "$found"
            return 0
        fi
        sleep 0.1
    done
    echo "bench-query.sh: nothing matched $2 in $1 within 60 s" >&2
    return 1
}

# Starts query with the given flags; sets QUERY_URL and QUERY_PID.
start_query() {
    local name=$1
    shift
    LOG_FORMAT=json RUST_LOG=info "$BIN/query" --listen 127.0.0.1:0 "$@" 2>"$OUT/query-$name.log" &
    QUERY_PID=$!
    PIDS+=("$QUERY_PID")
    QUERY_URL="http://$(wait_for_json "$OUT/query-$name.log" 'select(.message | test("listening on")) | .address')"
}

stop_query() {
    kill "$QUERY_PID"
    wait "$QUERY_PID" || true
}

# Runs query_bench against QUERY_URL: bench NAME MANIFEST CLIENTS [query_bench flags...].
bench() {
    local name=$1 manifest=$2 clients=$3
    shift 3
    timeout 15m "$BIN/query_bench" --url "$QUERY_URL" --manifest "$manifest" \
        --clients "$clients" --duration "$DURATION" --json "$OUT/bench-$name.json" "$@" \
        | tee "$OUT/bench-$name.md"
}

{
    echo "nproc: $(nproc)"
    free -h
    grep -m 1 'model name' /proc/cpuinfo
    echo "load average: $(cut -d ' ' -f 1-3 /proc/loadavg)"
    influxd version
} >"$OUT/machine.txt"

cargo build --release --locked -p query -p reactions-tests --bins

SIZES=(--reactions "$REACTIONS" --users "$USERS" --articles "$ARTICLES" --seed "$SEED")

# With one client, the hottest ids' latency is the store's own time for one query, without
# the queueing that concurrent clients add on a small machine.
HOTTEST=(--scenario user-summary/hottest --scenario user-listing/hottest
    --scenario article-summary/hottest --scenario article-listing/hottest)

# Loads the dataset into STORE and benchmarks it: run_store STORE LABEL [store flags...].
run_store() {
    local store=$1 label=$2
    shift 2
    local manifest="$OUT/manifest-$store.json"
    timeout 30m "$BIN/dataset" "${SIZES[@]}" "$@" --manifest "$manifest" \
        | tee "$OUT/dataset-$store.txt"
    # InfluxDB compacts what the load wrote for a few minutes afterwards; measuring during
    # that would charge the queries for it.
    sleep "$SETTLE"

    start_query "$store" "$@" --cache-ttl 0s
    bench "$store" "$manifest" "$CLIENTS" --label "$label, cache off"
    bench "$store-1client" "$manifest" 1 --label "$label, cache off, 1 client" "${HOTTEST[@]}"
    stop_query

    start_query "$store-cached" "$@"
    bench "$store-cached" "$manifest" "$CLIENTS" --label "$label, default cache (1s)" \
        --scenario article-summary/hottest
    stop_query
}

for store in $STORES; do
    case $store in
    influxdb)
        "$BIN/influxd_scratch" --max-lifetime 90m >"$OUT/influxd.json" 2>"$OUT/influxd.log" &
        INFLUXD_PID=$!
        PIDS+=("$INFLUXD_PID")
        INFLUX_URL=$(wait_for_json "$OUT/influxd.json" '.url')
        run_store influxdb "InfluxDB" --influx-url "$INFLUX_URL" --influx-db reactions
        # Stopped here so that its compactions take no CPU from the next store's figures.
        kill "$INFLUXD_PID"
        wait "$INFLUXD_PID" || true
        ;;
    embedded)
        run_store embedded "Embedded (SQLite)" --data-dir "$WORK/embedded"
        du -sh "$WORK/embedded" >>"$OUT/dataset-embedded.txt"
        ;;
    *)
        echo "bench-query.sh: unknown store $store in STORES; use influxdb and/or embedded" >&2
        exit 2
        ;;
    esac
done
