#!/usr/bin/env bash
# Runs the docker-compose.yml topology without Docker, for developers and CI: InfluxDB and
# Prometheus from Debian's packages (`influxdb`, `prometheus`), ingest and query from this
# workspace, with the same InfluxDB config, Prometheus config and alert rules as compose.
#
#   scripts/stack.sh up       # start everything, wait until each part responds
#   scripts/stack.sh status   # list each part with its PID and URL; exit 3 if any is down
#   scripts/stack.sh down     # stop exactly the processes that `up` started
#
# Everything lives in STACK_DIR (default ./.stack): PID files, logs, InfluxDB data and the
# Prometheus TSDB. All listeners are on 127.0.0.1, on ports away from the services' defaults
# so that the stack runs beside `scripts/run.sh` or a system InfluxDB:
#   STACK_INFLUX_PORT (28086), STACK_INFLUX_RPC_PORT (28088), STACK_INGEST_PORT (28080),
#   STACK_QUERY_PORT (28081), STACK_PROMETHEUS_PORT (29090).
# STACK_BIN_DIR names a directory that already holds `ingest` and `query`; without it, `up`
# builds them with `cargo build --release`.
# Not included: the nginx load balancer (one ingest replica here) and Grafana, which Debian
# does not package.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

stack_dir="${STACK_DIR:-$repo/.stack}"
influx_port="${STACK_INFLUX_PORT:-28086}"
influx_rpc_port="${STACK_INFLUX_RPC_PORT:-28088}"
ingest_port="${STACK_INGEST_PORT:-28080}"
query_port="${STACK_QUERY_PORT:-28081}"
prometheus_port="${STACK_PROMETHEUS_PORT:-29090}"
database="${STACK_INFLUX_DB:-reactions}"
# Seconds each part has to respond after it starts, and to exit after SIGTERM.
start_timeout="${STACK_START_TIMEOUT:-60}"
stop_timeout="${STACK_STOP_TIMEOUT:-45}"

# Start order; `down` stops them in reverse.
parts=(influxd ingest query prometheus)

log() { echo "stack: $*" >&2; }

pid_file() { echo "$stack_dir/run/$1.pid"; }
log_file() { echo "$stack_dir/log/$1.log"; }

url_of() {
    case "$1" in
        influxd) echo "http://127.0.0.1:$influx_port/ping" ;;
        ingest) echo "http://127.0.0.1:$ingest_port/readyz" ;;
        query) echo "http://127.0.0.1:$query_port/readyz" ;;
        prometheus) echo "http://127.0.0.1:$prometheus_port/-/ready" ;;
    esac
}

# Succeeds if the process exists and is not a zombie. The stack's processes outlive the shell
# that started them, so their exit is reaped by init, which may take a moment or never happen.
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Prints the PID of a part if its PID file names a live process running that part's program.
# Comparing the executable guards against a stale PID file whose number the kernel has reused.
live_pid() {
    local part=$1 file pid exe
    file=$(pid_file "$part")
    [ -f "$file" ] || return 1
    pid=$(cat "$file")
    [ -n "$pid" ] && running "$pid" || return 1
    # A binary rebuilt while it runs shows as "<path> (deleted)".
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    exe=$(basename "${exe% (deleted)}")
    [ "$exe" = "$part" ] || return 1
    echo "$pid"
}

require() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "$1 not found; install Debian's $2 package (apt-get install $2)"
    exit 1
}

wait_for() {
    local part=$1 url pid deadline
    url=$(url_of "$part")
    pid=$(cat "$(pid_file "$part")")
    deadline=$((SECONDS + start_timeout))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! running "$pid"; then
            log "$part exited during startup; last lines of $(log_file "$part"):"
            tail -n 20 "$(log_file "$part")" >&2 || true
            return 1
        fi
        if curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null; then
            log "$part is up (pid $pid, $url)"
            return 0
        fi
        sleep 0.2
    done
    log "$part did not respond on $url within ${start_timeout}s; last lines of $(log_file "$part"):"
    tail -n 20 "$(log_file "$part")" >&2 || true
    return 1
}

# Starts a program in the background with its output in the part's log, and records its PID.
# Bash runs a simple background command in one forked process and `env` execs the program, so
# the recorded PID is the program's own.
start() {
    local part=$1
    shift
    ("$@" </dev/null >>"$(log_file "$part")" 2>&1 & echo $! >"$(pid_file "$part")")
}

binaries() {
    if [ -n "${STACK_BIN_DIR:-}" ]; then
        echo "$STACK_BIN_DIR"
        return
    fi
    cargo build --release --locked --bins -p ingest -p query >&2
    echo "$repo/target/release"
}

up() {
    require curl curl
    require influxd influxdb
    require prometheus prometheus
    local part bin_dir
    for part in "${parts[@]}"; do
        if pid=$(live_pid "$part"); then
            log "$part is already running (pid $pid); run 'scripts/stack.sh down' first"
            exit 1
        fi
    done
    bin_dir=$(binaries)
    for part in ingest query; do
        [ -x "$bin_dir/$part" ] || { log "$bin_dir/$part is missing or not executable"; exit 1; }
    done

    mkdir -p "$stack_dir"/{run,log,influxdb,prometheus/targets,prometheus/data}

    # The config file is the one compose mounts; these variables move its directories and
    # listeners into the state directory and onto loopback.
    start influxd env \
        INFLUXDB_META_DIR="$stack_dir/influxdb/meta" \
        INFLUXDB_DATA_DIR="$stack_dir/influxdb/data" \
        INFLUXDB_DATA_WAL_DIR="$stack_dir/influxdb/wal" \
        INFLUXDB_BIND_ADDRESS="127.0.0.1:$influx_rpc_port" \
        INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$influx_port" \
        influxd -config "$repo/deploy/influxdb/influxdb.conf"
    wait_for influxd || { down; exit 1; }

    local influx_url="http://127.0.0.1:$influx_port"
    # Each binary takes its settings from flags, so variables from the caller's shell
    # (INFLUX_URL and the rest) cannot point the stack elsewhere; INFLUX_TOKEN is unset because
    # this InfluxDB has no authentication.
    start ingest env -u INFLUX_TOKEN LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" \
        "$bin_dir/ingest" --listen "127.0.0.1:$ingest_port" \
        --influx-url "$influx_url" --influx-db "$database"
    start query env -u INFLUX_TOKEN LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" \
        "$bin_dir/query" --listen "127.0.0.1:$query_port" \
        --influx-url "$influx_url" --influx-db "$database"
    wait_for ingest || { down; exit 1; }
    wait_for query || { down; exit 1; }

    # prometheus.yml and rules.yml are linked, not copied, so the stack always runs the
    # checked-in files; its relative paths (rules.yml, targets/) resolve beside the link.
    ln -sf "$repo/deploy/prometheus/prometheus.yml" "$stack_dir/prometheus/prometheus.yml"
    ln -sf "$repo/deploy/prometheus/rules.yml" "$stack_dir/prometheus/rules.yml"
    echo "- targets: ['127.0.0.1:$prometheus_port']" >"$stack_dir/prometheus/targets/prometheus.yml"
    echo "- targets: ['127.0.0.1:$ingest_port']" >"$stack_dir/prometheus/targets/ingest.yml"
    echo "- targets: ['127.0.0.1:$query_port']" >"$stack_dir/prometheus/targets/query.yml"
    start prometheus prometheus \
        --config.file="$stack_dir/prometheus/prometheus.yml" \
        --storage.tsdb.path="$stack_dir/prometheus/data" \
        --web.listen-address="127.0.0.1:$prometheus_port"
    wait_for prometheus || { down; exit 1; }

    echo "ingest:     http://127.0.0.1:$ingest_port/v1/reactions"
    echo "query:      http://127.0.0.1:$query_port/v1/users/{user_id}/reactions/summary"
    echo "influxdb:   $influx_url (database $database)"
    echo "prometheus: http://127.0.0.1:$prometheus_port"
    echo "state and logs in $stack_dir; stop with 'scripts/stack.sh down'"
}

# Sends SIGTERM and waits; ingest needs the time to write its buffer. SIGKILL is the fallback
# for a process that does not exit within STACK_STOP_TIMEOUT.
stop() {
    local part=$1 pid deadline
    if ! pid=$(live_pid "$part"); then
        rm -f "$(pid_file "$part")"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + stop_timeout))
    while running "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.1
    done
    if running "$pid"; then
        log "$part (pid $pid) did not exit within ${stop_timeout}s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    else
        log "$part (pid $pid) stopped"
    fi
    rm -f "$(pid_file "$part")"
}

down() {
    local index
    for ((index = ${#parts[@]} - 1; index >= 0; index--)); do
        stop "${parts[index]}"
    done
}

status() {
    local part pid all_up=0
    for part in "${parts[@]}"; do
        if pid=$(live_pid "$part"); then
            printf '%-11s running  pid %-8s %s\n' "$part" "$pid" "$(url_of "$part")"
        else
            printf '%-11s stopped\n' "$part"
            all_up=3
        fi
    done
    return "$all_up"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *)
        echo "usage: scripts/stack.sh up|down|status" >&2
        exit 2
        ;;
esac
