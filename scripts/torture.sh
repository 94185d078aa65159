#!/usr/bin/env bash
# Long crash-consistency and contention runs (CI runs short ones in go test).
#   scripts/torture.sh              # 500 SIGKILL cycles, then 20 -race contention runs
#   scripts/torture.sh 2000         # more kills
#   GATEHOUSE_TORTURE_SEED=123 scripts/torture.sh 50   # replay a failing run's choices
#   CONTENTION_RUNS=0 scripts/torture.sh                # kills only
# Stage 1 is TestCrashTorture (server/e2e/torture_test.go): the real binary under a mixed
# load (codes, approvals, denials, polls, bearer checks, revocations over HTTP
# and the CLI, prune and backup through the admin socket), SIGKILLed at random
# moments and restarted on the same file; after every restart it asserts that
# check passes, no acknowledged token, approval, denial or revocation is lost,
# no code yields two tokens, and every backup holds what it must.
# Stage 2 is TestExactlyOnceUnderContention (server/contention_test.go) under
# the race detector, repeated.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-${GATEHOUSE_TORTURE_CYCLES:-500}}
runs=${CONTENTION_RUNS:-20}
echo "== crash torture: $cycles kill cycles"
GATEHOUSE_TORTURE_CYCLES=$cycles go test -run '^TestCrashTorture$' -count=1 -timeout 0 -v ./server/e2e/ | grep --line-buffered -v '^=== RUN'
if [ "$runs" -gt 0 ]; then
  echo "== exactly-once under contention, -race, $runs runs"
  go test -race -run '^TestExactlyOnceUnderContention$' -count="$runs" -timeout 0 ./server/
fi
