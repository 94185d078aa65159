#!/usr/bin/env bash
# Runs the benchmark harness (`gatehouse bench`, package server/bench) with
# its defaults and writes the table as Markdown, ready for
# docs/BENCHMARKS.md. Extra arguments go to `gatehouse bench`:
#   scripts/bench.sh                          # the table, to stdout
#   OUT=/tmp/bench.md scripts/bench.sh        # ... and to a file
#   scripts/bench.sh --scale                  # plus 1M+1M tokens (minutes)
#   scripts/bench.sh --cpuprofile /tmp/prof   # one CPU profile per scenario
#   scripts/bench.sh --json                   # JSON instead of Markdown
# Run it on an otherwise idle machine: rows measured while other processes
# used the CPUs are flagged "(noisy)". Not run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gatehouse" .
args=(--markdown)
for arg in "$@"; do
  case $arg in --json | --markdown) args=() ;; esac
done
args+=("$@")
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || rev="$rev + uncommitted changes"
echo "bench: gatehouse bench ${args[*]} at $rev; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/gatehouse" bench "${args[@]}" | tee "${OUT:-/dev/null}"
