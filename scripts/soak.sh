#!/usr/bin/env bash
# Soak: the real server under a steady mixed load for 10 minutes (outside CI).
#   scripts/soak.sh            # 10 minutes
#   scripts/soak.sh 1h         # longer
# Every 10 s it prints the server's RSS, the data file's size, requests and
# errors; it fails on any error, on memory that keeps growing, and on a data
# file still growing in the last third of the run (prune runs every 30 s with
# a 1 minute retention, so the file must level off). See TestSoak in
# server/e2e/soak_test.go (build tag soak).
set -euo pipefail
cd "$(dirname "$0")/.."
GATEHOUSE_SOAK_DURATION=${1:-${GATEHOUSE_SOAK_DURATION:-10m}} \
  go test -tags soak -run '^TestSoak$' -count=1 -timeout 0 -v ./server/e2e/ | grep --line-buffered -v '^=== RUN'
