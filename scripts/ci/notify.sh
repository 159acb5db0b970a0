#!/usr/bin/env bash
# Sends the build result to the destination the job chose. Never fails the build.
#
#   scripts/ci/notify.sh RESULT
#
# NOTIFY=slack posts to SLACK_WEBHOOK_URL (a Jenkins secret, bound only for this step);
# NOTIFY=email mails NOTIFY_EMAIL_TO with the system's `mail` command; NOTIFY=none does nothing.
set -uo pipefail

result="${1:?usage: scripts/ci/notify.sh RESULT}"
summary="Reactions ${BRANCH_NAME:-local} #${BUILD_NUMBER:-0}: $result ${BUILD_URL:-}"

case "${NOTIFY:-none}" in
    slack)
        if [ -z "${SLACK_WEBHOOK_URL:-}" ]; then
            echo "notify: SLACK_WEBHOOK_URL is not set; nothing sent" >&2
            exit 0
        fi
        payload=$(printf '{"text": "%s"}' "${summary//\"/\\\"}")
        curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
            --data "$payload" "$SLACK_WEBHOOK_URL" >/dev/null ||
            echo "notify: the Slack webhook request failed" >&2
        ;;
    email)
        if [ -z "${NOTIFY_EMAIL_TO:-}" ]; then
            echo "notify: NOTIFY_EMAIL_TO is not set; nothing sent" >&2
            exit 0
        fi
        echo "$summary" | mail -s "Reactions build: $result" "$NOTIFY_EMAIL_TO" ||
            echo "notify: sending mail to $NOTIFY_EMAIL_TO failed" >&2
        ;;
    none) ;;
    *) echo "notify: unknown NOTIFY '${NOTIFY}'; use slack, email or none" >&2 ;;
esac
exit 0
