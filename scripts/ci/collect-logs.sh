#!/usr/bin/env bash
# Saves the QA stack's state and every service's log to $REPORT_DIR/logs for archiving. It runs
# after failures too, so it reports what it cannot collect and still exits 0.
set -uo pipefail
source "$(dirname "$0")/env.sh"

logs="$REPORT_DIR/logs"
mkdir -p "$logs"
compose ps --all >"$logs/compose-ps.txt" 2>&1 || echo "collect-logs: compose ps failed" >&2
for service in $(compose config --services 2>/dev/null); do
    compose logs --no-color --timestamps "$service" >"$logs/$service.log" 2>&1 ||
        echo "collect-logs: no logs for $service" >&2
done
exit 0
