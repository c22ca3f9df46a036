#!/usr/bin/env bash
# Every test of the project. Installs what the tests need if missing, runs them, and ends with one line
# "N passed, N failed" counted from the test runs themselves. Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
. .ci/setup.sh

require_dotnet
postgres_bin >/dev/null
require_chromium
# The Supabase CLI (npm supabase, pinned in .ci/node): the database tests push the migrations with it.
require_node_checks
# The outbound events tests start tests/receiver, which verifies each delivery with the standardwebhooks package.
require_event_receiver
# The silent-database tests (Scenarios/SilentDatabaseTests) drop replica A's packets to PostgreSQL with iptables.
require_iptables
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

# The operations checks that no test framework runs; each counts as one test in the final line.
check() {
  local name=$1; shift
  log "$name"
  if "$@" >"$results/check-$name.log" 2>&1; then
    passed=$((passed + 1)); local last; last=$(tail -n 1 "$results/check-$name.log"); echo "passed $name${last:+: $last}"
  else
    failed=$((failed + 1)); status=1; echo "FAILED $name:"; tail -n 20 "$results/check-$name.log"
  fi
}
# The style of .editorconfig: whitespace, usings and the rules it marks :warning (restored already by the tests).
check format dotnet format RoomReconciler.sln --verify-no-changes --no-restore
require_python3
require_systemd_analyze
require_strace
# The image: the Dockerfile's build stage publishes from exactly what its COPY lines copy (no container engine needed).
check image python3 .ci/image-context.py
# Kubernetes: every manifest against the API schemas, offline (Pod Security "restricted" is a dotnet test).
check kubernetes node .ci/node/kubernetes.mjs
# The alert rules and the dashboard: their PromQL parses with Prometheus' grammar (their metric names are a dotnet test).
check promql node .ci/node/promql.mjs
# systemd: `systemd-analyze security` exposure at most 2.5 (the threshold is in tenths).
check systemd systemd-analyze security --offline=yes --threshold=25 systemd/roomreconciler.service
# systemd: the daemon, JIT included, makes no system call that the unit's SystemCallFilter refuses (traced with strace).
check systemd-syscalls python3 .ci/systemd-syscalls.py
# The browser module's TypeScript declarations, used by a strict TypeScript file.
check typescript .ci/node/node_modules/.bin/tsc --noEmit --strict --module nodenext --moduleResolution nodenext \
  --target es2022 --lib es2022,dom src/clock-client/types-check/usage.ts

[ "$failed" = 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
