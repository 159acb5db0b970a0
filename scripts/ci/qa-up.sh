#!/usr/bin/env bash
# Starts the whole compose stack on the image that build-image.sh built, and waits until every
# service with a health check reports healthy (QA_UP_TIMEOUT seconds, default 300).
set -euo pipefail
source "$(dirname "$0")/env.sh"

compose up --detach --no-build --wait --wait-timeout "${QA_UP_TIMEOUT:-300}"
compose ps
