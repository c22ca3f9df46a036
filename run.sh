#!/usr/bin/env bash
# The main job, a live demo in compressed time: a local PostgreSQL (data under .data/, git-ignored), the LiveKit
# simulator, the daemon on http://127.0.0.1:8080, and a session whose two participants come and go while the
# narration shows the clock running, the grace counting down, the pause and the resume. Ctrl-C or SIGTERM
# stops everything this script started.
#
# Against real services instead, set the daemon's configuration in the environment; the simulator and the
# narration are then left out:
#   ConnectionStrings__Postgres='Host=db;Username=rr;Password=...' LiveKit__Url=wss://lk.example.com \
#   LiveKit__ApiKey=... LiveKit__ApiSecret=... ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
. .ci/setup.sh

require_dotnet
command -v curl >/dev/null && command -v jq >/dev/null || { log "installing curl and jq"; apt_install curl jq >/dev/null; }
data=$PWD/.data
mkdir -p "$data"
pids=()
pg_started=

stop_all() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$pg_started" ]; then as_postgres "$pg_bin/pg_ctl" -D "$data/postgres" -m fast -w stop >/dev/null || true; fi
  log "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port someone else holds is named at once, instead of a failure deep in a log.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then log "127.0.0.1:$1 is already in use; stop what holds it or set $2"; exit 1; fi
}

demo=
[ -z "${LiveKit__Url:-}" ] && [ -z "${ConnectionStrings__Postgres:-}" ] && demo=1

if [ -z "${ConnectionStrings__Postgres:-}" ]; then
  pg_bin=$(postgres_bin)
  pg_port=${RUN_PG_PORT:-55433}
  if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
  if [ ! -f "$data/postgres/PG_VERSION" ]; then
    log "creating a local PostgreSQL cluster in .data/postgres"
    as_postgres "$pg_bin/initdb" -D "$data/postgres" --auth=trust -U postgres -E UTF8 --locale=C >/dev/null
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$data/postgres" status >/dev/null 2>&1; then
    port_free "$pg_port" RUN_PG_PORT
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    as_postgres "$pg_bin/pg_ctl" -D "$data/postgres" -l "$data/postgres.log" -w \
      -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
    pg_started=1
  fi
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
fi

export Urls=${Urls:-http://127.0.0.1:8080}
api=${Urls%%;*}
if [ -n "$demo" ]; then
  lk=http://127.0.0.1:7880
  export LiveKit__Url=$lk LiveKit__ApiKey=devkey LiveKit__ApiSecret=secret
  # Compressed time for the demo: a 10 s grace and a 1 s poll (production defaults: 30 s and 10 s).
  export Reconciler__GracePeriod=${Reconciler__GracePeriod:-00:00:10} Reconciler__PollInterval=${Reconciler__PollInterval:-00:00:01}
  export ClockApi__RequireToken=${ClockApi__RequireToken:-false} Demo__Enabled=true
fi

port_free "${api##*:}" Urls
[ -z "$demo" ] || port_free 7880 "nothing (the simulator needs 7880)"

log "building (first run restores NuGet packages)"
dotnet build src/RoomReconciler -c Release -o "$data/bin/daemon" -v quiet -nologo >/dev/null
[ -z "$demo" ] || dotnet build src/LiveKitSimulator -c Release -o "$data/bin/simulator" -v quiet -nologo >/dev/null

log "migrating"
"$data/bin/daemon/RoomReconciler" migrate

if [ -n "$demo" ]; then
  log "starting the LiveKit simulator on $lk"
  "$data/bin/simulator/LiveKitSimulator" --urls "$lk" --Simulator:WebhookUrl="$api/livekit/webhook" \
    --Logging:LogLevel:Default=Warning > "$data/simulator.log" 2>&1 &
  pids+=($!)
fi

log "starting RoomReconciler on $api"
if [ -z "$demo" ]; then
  "$data/bin/daemon/RoomReconciler" run &
  pids+=($!)
  wait "${pids[@]}"
  exit $?
fi
# The demo shows the daemon's transition lines and problems beside the narration; the whole log is in .data/daemon.log.
"$data/bin/daemon/RoomReconciler" run > >(tee "$data/daemon.log" | grep --line-buffered -E ' (WRN|ERR|FTL) |Clock (started|paused|resumed)') 2>&1 &
pids+=($!)

for _ in $(seq 100); do curl -sf "$api/healthz" >/dev/null && curl -sf "$lk/_simulator/rooms" >/dev/null && break; sleep 0.2; done

session=$("$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qAt -c "INSERT INTO sessions (id) VALUES (gen_random_uuid()) RETURNING id")
sim() { curl -sf -X POST "$lk/_simulator/$1" -d "{\"room\":\"$session\",\"identity\":\"$2\"}" >/dev/null; }
clock() { curl -sf "$api/clock/$session"; }
show() {
  local c; c=$(clock) || { echo "   (clock unavailable)"; return; }
  local ms paused
  ms=$(jq -r .elapsed_ms <<<"$c"); paused=$(jq -r .is_paused <<<"$c")
  printf '   %-44s clock %d:%02d %s\n' "$1" $((ms / 60000)) $((ms / 1000 % 60)) "$([ "$paused" = true ] && echo '(paused)' || echo '')"
}
grace=${Reconciler__GracePeriod##*:}; grace=${grace%%.*}; grace=$((10#$grace))

cat <<TXT

  Session $session
    clock snapshot   $api/clock/$session
    change stream    $api/clock/$session/stream
    demo page        $api/demo/$session
    timeline         $api/sessions/$session/timeline
  Ctrl-C stops everything.

TXT

round=0
while true; do
  round=$((round + 1))
  echo "── round $round ──────────────────────────────────────────────"
  sim join customer; sim join mechanic
  for i in 1 2 3 4 5; do sleep 1; show "customer and mechanic are in: running"; done
  sim leave customer
  echo "   the customer drops out; the clock runs on through a ${grace} s grace"
  for i in $(seq "$grace" -1 1); do show "grace: ${i} s left"; sleep 1; done
  for _ in $(seq 20); do [ "$(clock | jq -r .is_paused)" = true ] && break; sleep 0.2; done
  show "paused: the customer has been gone ${grace} s"
  sleep 3; show "still paused, nobody billed"
  sim join customer
  for _ in $(seq 20); do [ "$(clock | jq -r .is_paused)" = false ] && break; sleep 0.2; done
  show "resumed: the customer is back"
  for i in 1 2 3; do sleep 1; show "running"; done
  sim leave customer; sim leave mechanic
  for _ in $(seq "$((grace + 2))"); do sleep 1; done
  show "both left; paused until they return"
  echo
done
