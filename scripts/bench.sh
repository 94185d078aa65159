#!/usr/bin/env bash
# Runs the benchmark harness (`gatehouse bench`, package server/bench) with
# its defaults and writes the table as Markdown, ready for
# docs/BENCHMARKS.md. Extra arguments go to `gatehouse bench`:
#   scripts/bench.sh                          # the table, to stdout
#   OUT=/tmp/bench.md scripts/bench.sh        # ... and to a file
#   scripts/bench.sh --scale                  # plus 1M+1M tokens (minutes)
#   scripts/bench.sh --cpuprofile /tmp/prof   # one CPU profile per scenario
#   scripts/bench.sh --json                   # JSON instead of Markdown
# Rows measured while other processes used over 5% of the CPUs are flagged
# "(noisy)"; the script waits for a quiet machine and re-measures them up to
# three times, so run it on an otherwise idle machine. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gatehouse" .
# On a shared machine, wait for quiet and re-measure disturbed rows.
args=(--wait-quiet 3m --retries 3)
format=(--markdown)
for arg in "$@"; do
  case $arg in --json | --markdown) format=() ;; esac
done
args+=("${format[@]}" "$@")
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev + uncommitted changes"
echo "bench: gatehouse bench ${args[*]} at $rev; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/gatehouse" bench "${args[@]}" | tee "${OUT:-/dev/null}"
