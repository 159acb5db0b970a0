#!/usr/bin/env bash
# Pushes the tested image to the private registry as <registry>/reactions:<commit>, and also as
# :latest when BRANCH_NAME is main. Jenkins binds REGISTRY_URL, REGISTRY_USER and
# REGISTRY_PASSWORD from its credentials; the password goes to docker on stdin only.
set -euo pipefail
source "$(dirname "$0")/env.sh"

: "${REGISTRY_URL:?set REGISTRY_URL, for example registry.example.com/team}"
: "${REGISTRY_USER:?set REGISTRY_USER}"
: "${REGISTRY_PASSWORD:?set REGISTRY_PASSWORD}"

registry_host="${REGISTRY_URL%%/*}"
tags=("$REGISTRY_URL/$IMAGE_NAME:$IMAGE_TAG")
if [ "${BRANCH_NAME:-}" = "main" ]; then
    tags+=("$REGISTRY_URL/$IMAGE_NAME:latest")
fi

# The registry tags exist only for the push, so they are removed here and teardown.sh has one
# image left to remove. Logging out leaves no credential on the agent.
cleanup() {
    docker image rm "${tags[@]}" >/dev/null 2>&1 || true
    docker logout "$registry_host" >/dev/null 2>&1 || true
}
trap cleanup EXIT

printf '%s' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" --password-stdin "$registry_host"
for tag in "${tags[@]}"; do
    docker tag "$REACTIONS_IMAGE" "$tag"
    docker push "$tag"
    echo "pushed $tag"
done
