#!/usr/bin/env bash
# Removes everything this build put on the agent: the QA stack's containers, networks and
# volumes, the images it built or tagged, and their dangling build layers, so the disk does not
# fill over many builds. Safe to run when nothing was started.
set -uo pipefail
source "$(dirname "$0")/env.sh"

compose down --volumes --remove-orphans --timeout 60 || echo "teardown: compose down failed" >&2

# push-image.sh removes the registry tags it adds, so the build's own tag is the last one.
docker image rm --force "$REACTIONS_IMAGE" >/dev/null 2>&1 && echo "teardown: removed $REACTIONS_IMAGE"
# Intermediate stages carry the label that the Dockerfile sets on every stage.
docker image prune --force --filter "label=org.opencontainers.image.title=reactions" || true
# BuildKit's cache holds the cargo-chef dependency layer that keeps builds fast; entries unused
# for a week go, so the cache cannot grow without bound.
docker builder prune --force --filter "until=168h" || true
exit 0
