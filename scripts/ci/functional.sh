#!/usr/bin/env bash
# Functional smoke tests against a running stack: health, a reaction in through ingest and back
# out of query, and the error responses a client relies on. Used by Jenkins against the QA stack
# and by the native-stack test in scripts/test.sh.
#
#   INGEST_URL=http://127.0.0.1:8080 QUERY_URL=http://127.0.0.1:8081 scripts/ci/functional.sh
#
# Without INGEST_URL and QUERY_URL it targets the QA stack's ports (scripts/ci/env.sh). Writes
# JUnit XML to $REPORT_DIR/junit/functional.xml and exits 1 if any case fails. Every request
# has a time limit, and the read-back polls for at most FUNCTIONAL_STORE_WAIT seconds
# (default 30), because writes are batched.
set -euo pipefail

source "$(dirname "$0")/env.sh"
ingest_url="$INGEST_URL"
query_url="$QUERY_URL"
store_wait="${FUNCTIONAL_STORE_WAIT:-30}"

# Ids unique to this run, so that a long-lived QA store never contains an earlier run's reactions.
run_id="smoke-$(date +%s%N)-$$"
user="u-$run_id"
article="a-$run_id"

passed=0
failed=0
cases_xml=""
failure=""

# Runs `curl` and prints "<status> <body>"; the body is on one line for the JSON checks below.
request() {
    curl -sS --max-time 10 -o /dev/stdout -w ' %{http_code}' "$@" | tr -d '\n' |
        awk '{ status = $NF; $NF = ""; print status, $0 }'
}

expect_status() {
    local expected=$1 reply=$2
    if [ "${reply%% *}" != "$expected" ]; then
        failure="expected HTTP $expected, got: $reply"
        return 1
    fi
}

expect_body() {
    local needle=$1 reply=$2
    if [[ "$reply" != *"$needle"* ]]; then
        failure="expected the body to contain $needle, got: $reply"
        return 1
    fi
}

xml_escape() {
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' <<<"$1"
}

run_case() {
    local name=$1 started elapsed ok=true
    failure=""
    started=$(date +%s.%N)
    "$name" || ok=false
    elapsed=$(awk -v start="$started" -v end="$(date +%s.%N)" 'BEGIN { printf "%.3f", end - start }')
    cases_xml+="    <testcase classname=\"functional\" name=\"$name\" time=\"$elapsed\">"
    if $ok; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        # A case fails without a message only when curl itself failed, which it reports on stderr.
        failure="${failure:-request failed}"
        echo "FAIL $name: $failure"
        cases_xml+="<failure message=\"$(xml_escape "$failure")\"/>"
    fi
    cases_xml+=$'</testcase>\n'
}

ingest_is_healthy() {
    local reply
    reply=$(request "$ingest_url/healthz") && expect_status 200 "$reply"
}

query_is_healthy() {
    local reply
    reply=$(request "$query_url/healthz") && expect_status 200 "$reply"
}

reaction_is_accepted() {
    local reply
    reply=$(request -X POST "$ingest_url/v1/reactions" -H 'Content-Type: application/json' \
        -d "{\"user_id\": \"$user\", \"article_id\": \"$article\", \"behavior\": \"like\", \"timestamp\": \"2026-01-01T00:00:00.123Z\"}") &&
        expect_status 202 "$reply" && expect_body '"accepted":1' "$reply"
}

invalid_reaction_is_rejected() {
    local reply
    reply=$(request -X POST "$ingest_url/v1/reactions" -H 'Content-Type: application/json' \
        -d "{\"user_id\": \"$user\", \"article_id\": \"$article\", \"behavior\": \"shrug\"}") &&
        expect_status 422 "$reply" && expect_body '"field":"behavior"' "$reply"
}

user_summary_reads_back() {
    local reply deadline=$((SECONDS + store_wait))
    while :; do
        reply=$(request "$query_url/v1/users/$user/reactions/summary") || return 1
        if [[ "$reply" == 200*'"reactions":{"love":0,"like":1,"angry":0,"cry":0}'* ]]; then
            return 0
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            failure="summary did not show the reaction within ${store_wait}s: $reply"
            return 1
        fi
        sleep 0.5
    done
}

article_summary_counts_user() {
    local reply
    reply=$(request "$query_url/v1/articles/$article/reactions/summary") &&
        expect_status 200 "$reply" &&
        expect_body '"users":{"love":0,"like":1,"angry":0,"cry":0}' "$reply"
}

bad_query_parameter_is_rejected() {
    local reply
    reply=$(request "$query_url/v1/users/$user/reactions?limit=abc") && expect_status 400 "$reply"
}

for name in ingest_is_healthy query_is_healthy reaction_is_accepted \
    invalid_reaction_is_rejected user_summary_reads_back article_summary_counts_user \
    bad_query_parameter_is_rejected; do
    run_case "$name"
done

mkdir -p "$REPORT_DIR/junit"
{
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuites><testsuite name=\"functional\" tests=\"$((passed + failed))\" failures=\"$failed\">"
    printf '%s' "$cases_xml"
    echo '</testsuite></testsuites>'
} >"$REPORT_DIR/junit/functional.xml"

echo "functional: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
