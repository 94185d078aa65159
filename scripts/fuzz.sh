#!/usr/bin/env bash
# Runs every native Go fuzz target for a while (default 30s each).
#   scripts/fuzz.sh            # 30s per target
#   FUZZTIME=5m scripts/fuzz.sh
# The seed corpora (f.Add and testdata/fuzz/) already run in `go test ./...`;
# this explores beyond them. New crashers land in testdata/fuzz/<Target>/ of
# the package: commit them with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-30s}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "== $pkg $target ($fuzztime)"
    if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"; then
      status=1
    fi
  done
done
exit $status
