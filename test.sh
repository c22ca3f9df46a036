#!/usr/bin/env bash
# Every test of the project. Installs what the tests need if missing, runs them, and ends with one line
# "N passed, N failed" counted from the test runs themselves. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
. .ci/setup.sh

require_dotnet
postgres_bin >/dev/null
require_chromium
# The browser tests (tests/RoomReconciler.Tests/Browser, counted with the dotnet tests) launch that Chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

results=.test-results
rm -rf "$results" && mkdir -p "$results"
passed=0 failed=0 status=0

log "dotnet test"
if ! dotnet test RoomReconciler.sln -c Release --logger "trx;LogFileName=dotnet.trx" --results-directory "$results" \
      --logger "console;verbosity=normal" 2>&1 | tee "$results/dotnet.log" | grep -E --line-buffered '^\s*(Passed|Failed|Skipped) |error|Total tests|Passed!|Failed!'; then
  :
fi
[ "${PIPESTATUS[0]}" = 0 ] || status=1
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
done

if [ -d src/clock-client/test ]; then
  require_node
  log "node --test src/clock-client"
  node --test src/clock-client/test/ 2>&1 | tee "$results/node.log" | tail -n 12
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$results/node.log")
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$results/node.log")
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0}))
fi

[ "$failed" = 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
