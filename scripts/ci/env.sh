# Settings shared by the scripts in scripts/ci, which source this file. Each value can be set by the
# caller (Jenkins sets some in the job's environment); these are the defaults.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

: "${IMAGE_NAME:=reactions}"
# The commit names the image, so a test report and a pushed image can be matched.
if [ -z "${IMAGE_TAG:-}" ]; then
    IMAGE_TAG="${GIT_COMMIT:-$(git -C "$repo_root" rev-parse HEAD)}"
fi
: "${REPORT_DIR:=$repo_root/reports}"

# One compose project per build, so that concurrent builds on one agent never share
# containers or volumes. Compose accepts only lowercase letters, digits, '-' and '_'.
if [ -z "${COMPOSE_PROJECT_NAME:-}" ]; then
    COMPOSE_PROJECT_NAME="reactions-qa-$(tr -c 'a-zA-Z0-9_\n-' '-' <<<"${BUILD_TAG:-local}" | tr 'A-Z' 'a-z')"
fi

# Host ports of the QA stack, away from the services' defaults. Jenkins numbers the executors of
# an agent from 0, so builds running side by side on one agent get ports 10 apart.
port_offset=$((${EXECUTOR_NUMBER:-0} * 10))
: "${QA_INGEST_PORT:=$((18080 + port_offset))}"
: "${QA_QUERY_PORT:=$((18081 + port_offset))}"
: "${QA_PROMETHEUS_PORT:=$((19090 + port_offset))}"
: "${QA_GRAFANA_PORT:=$((13000 + port_offset))}"
: "${INGEST_URL:=http://127.0.0.1:$QA_INGEST_PORT}"
: "${QUERY_URL:=http://127.0.0.1:$QA_QUERY_PORT}"

export IMAGE_NAME IMAGE_TAG REPORT_DIR COMPOSE_PROJECT_NAME INGEST_URL QUERY_URL
# docker-compose.yml reads these.
export REACTIONS_IMAGE="$IMAGE_NAME:$IMAGE_TAG"
export INGEST_PUBLIC_PORT="$QA_INGEST_PORT" QUERY_PUBLIC_PORT="$QA_QUERY_PORT"
export PROMETHEUS_PUBLIC_PORT="$QA_PROMETHEUS_PORT" GRAFANA_PUBLIC_PORT="$QA_GRAFANA_PORT"

compose() {
    docker compose --project-directory "$repo_root" -f "$repo_root/docker-compose.yml" "$@"
}
