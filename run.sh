#!/usr/bin/env bash
# The main job: a local PostgreSQL (data under .data/, git-ignored), migrations, and the daemon on
# http://127.0.0.1:8080. Ctrl-C or SIGTERM stops everything this script started.
#
# Point it at real services instead with the daemon's own configuration in the environment, e.g.
#   ConnectionStrings__Postgres='Host=db;Username=rr;Password=...' LiveKit__Url=wss://lk.example.com \
#   LiveKit__ApiKey=... LiveKit__ApiSecret=... ./run.sh
set -euo pipefail
cd "$(dirname "$0")"
. .ci/setup.sh

require_dotnet
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

if [ -z "${ConnectionStrings__Postgres:-}" ]; then
  pg_bin=$(postgres_bin)
  pg_port=${RUN_PG_PORT:-55433}
  if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
  if [ ! -f "$data/postgres/PG_VERSION" ]; then
    log "creating a local PostgreSQL cluster in .data/postgres"
    as_postgres "$pg_bin/initdb" -D "$data/postgres" --auth=trust -U postgres -E UTF8 --locale=C >/dev/null
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$data/postgres" status >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    as_postgres "$pg_bin/pg_ctl" -D "$data/postgres" -l "$data/postgres.log" -w \
      -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
    pg_started=1
  fi
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
fi

export LiveKit__Url=${LiveKit__Url:-http://127.0.0.1:7880}
export LiveKit__ApiKey=${LiveKit__ApiKey:-devkey}
export LiveKit__ApiSecret=${LiveKit__ApiSecret:-secret}
export Urls=${Urls:-http://127.0.0.1:8080}

log "building"
dotnet build src/RoomReconciler -c Release -o "$data/bin" -v quiet -nologo >/dev/null
daemon=("$data/bin/RoomReconciler")

log "migrating"
"${daemon[@]}" migrate

log "starting RoomReconciler on $Urls"
"${daemon[@]}" run &
pids+=($!)
wait "${pids[@]}"
