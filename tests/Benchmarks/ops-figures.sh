#!/usr/bin/env bash
# Operations figures (tests/Benchmarks/README.md, "Operations"): idle memory (RSS), start to ready on an already-migrated database, and
# SIGTERM to exit when idle, each against its target, over several runs of the published daemon. It starts its own
# throwaway PostgreSQL and the LiveKit simulator and stops both.  Usage: tests/Benchmarks/ops-figures.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
. .ci/setup.sh
require_dotnet
runs=${1:-5}
pg_bin=$(postgres_bin)
work=$(mktemp -d /tmp/roomreconciler-ops-XXXX)
[ "$(id -u)" = 0 ] && chown postgres "$work"
port=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
  as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

as_postgres "$pg_bin/initdb" -D "$work/pg" --auth=trust -U postgres >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
dotnet publish src/RoomReconciler -c Release -r linux-x64 --self-contained false -o "$work/daemon" -v quiet -nologo >/dev/null
dotnet publish src/LiveKitSimulator -c Release -o "$work/sim" -v quiet -nologo >/dev/null
"$work/sim/LiveKitSimulator" --urls http://127.0.0.1:17880 --Logging:LogLevel:Default=Warning >/dev/null 2>&1 &
sim_pid=$!

export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
export LiveKit__Url=http://127.0.0.1:17880 LiveKit__ApiKey=devkey LiveKit__ApiSecret=secret
export Urls=http://127.0.0.1:18080 Serilog__MinimumLevel__Default=Warning
"$work/daemon/RoomReconciler" migrate >/dev/null

ms() { echo $(( $(date +%s%N) / 1000000 )); }
ready=() rss=() stop=() codes=()
for i in $(seq "$runs"); do
  t0=$(ms)
  "$work/daemon/RoomReconciler" run >>"$work/daemon.log" 2>&1 &
  pid=$!
  until curl -sf -o /dev/null http://127.0.0.1:18080/readyz; do sleep 0.01; done
  ready+=($(( $(ms) - t0 )))
  sleep 10   # idle: ticks every 10 s, no clients
  rss+=($(( $(awk '/VmRSS/ {print $2}' /proc/$pid/status) / 1024 )))
  t1=$(ms)
  kill -TERM "$pid"
  set +e; wait "$pid"; code=$?; set -e
  stop+=($(( $(ms) - t1 ))) codes+=("$code")
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
r=$(median "${ready[@]}") m=$(median "${rss[@]}") s=$(median "${stop[@]}")
echo "runs: $runs; start-to-ready ms: ${ready[*]}; idle RSS MB: ${rss[*]}; SIGTERM-to-exit ms: ${stop[*]}; exit codes: ${codes[*]}"
echo
echo "| figure | median of $runs | target | ratio to target |"
echo "| --- | --- | --- | --- |"
awk -v r="$r" -v m="$m" -v s="$s" 'BEGIN {
  printf "| start to ready (migrated database) | %d ms | 2000 ms | %.2f |\n", r, r / 2000
  printf "| idle memory (RSS) | %d MB | 150 MB | %.2f |\n", m, m / 150
  printf "| SIGTERM to exit, idle | %d ms | 2000 ms | %.2f |\n", s, s / 2000 }'
for c in "${codes[@]}"; do [ "$c" = 0 ] || { echo "a daemon exited $c on SIGTERM"; exit 1; }; done
