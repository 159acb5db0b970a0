#!/usr/bin/env bash
# Builds the service image from the repository's Dockerfile, tagged with the commit.
set -euo pipefail
source "$(dirname "$0")/env.sh"

docker build --pull --tag "$REACTIONS_IMAGE" "$repo_root"
