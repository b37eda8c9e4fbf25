#!/bin/sh
# Waits for what the process needs (ZHENGBAN_WAIT_FOR: space-separated host:port or URLs, e.g.
# "postgres:5432 nats-1:4222"), then runs the command. Migrations are not run here: the
# separate `zhengban migrate` job does them once, so replicas never race each other.
set -eu
if [ -n "${ZHENGBAN_WAIT_FOR:-}" ]; then
  # shellcheck disable=SC2086
  zhengban wait ${ZHENGBAN_WAIT_FOR} --timeout "${ZHENGBAN_WAIT_TIMEOUT:-120}"
fi
exec "$@"
