# Shared by run.sh and test.sh: install what is missing, never prompt. Source it; do not run it.

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo -n "$@"
  else log "need root for: $*"; return 1; fi
}

apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

require_dotnet() {
  if ! command -v dotnet >/dev/null || ! dotnet --list-sdks | grep -q '^10\.'; then
    log "the .NET 10 SDK is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)"; exit 1
  fi
}

# Debian's PostgreSQL server, 15 or newer; prints its bin folder.
postgres_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    log "installing PostgreSQL (Debian package postgresql)"
    apt_install postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$bin"
}

require_node() {
  command -v node >/dev/null || { log "installing Node.js"; apt_install nodejs npm >/dev/null; }
}

# Debian's Chromium, for the browser tests: Playwright drives /usr/bin/chromium and never downloads a browser of its own.
require_chromium() {
  [ -x /usr/bin/chromium ] || { log "installing Chromium (Debian package chromium)"; apt_install chromium >/dev/null; }
}

# Runs a PostgreSQL tool as the postgres user when we are root (initdb and postgres refuse root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The Node tools of the CI checks and tests (.ci/node: the Kubernetes schemas, TypeScript, the Supabase CLI), at the
# versions of its lockfile.
require_node_checks() {
  require_node
  { [ -x .ci/node/node_modules/.bin/tsc ] && [ -x .ci/node/node_modules/.bin/supabase ]; } || (cd .ci/node && npm ci --no-audit --no-fund --silent >&2)
}

# The outbound events tests' receiver (tests/receiver: the standardwebhooks package), at the versions of its lockfile.
require_event_receiver() {
  require_node
  [ -d tests/receiver/node_modules/standardwebhooks ] || (cd tests/receiver && npm ci --no-audit --no-fund --silent >&2)
}

require_python3() {
  command -v python3 >/dev/null || { log "installing Python 3"; apt_install python3 >/dev/null; }
}

# systemd-analyze rates a unit's sandboxing offline, without a running systemd.
require_systemd_analyze() {
  command -v systemd-analyze >/dev/null || { log "installing systemd (for systemd-analyze)"; apt_install systemd >/dev/null; }
}

# iptables, for the outage tests that drop (not refuse) the packets of one replica's path to PostgreSQL
# (tests/RoomReconciler.Tests/Support/PacketDrop.cs). They run as root, as CI does.
require_iptables() {
  command -v iptables >/dev/null || { log "installing iptables (for the silent-network tests)"; apt_install iptables >/dev/null; }
}

require_strace() {
  command -v strace >/dev/null || { log "installing strace (for the unit's system call filter check)"; apt_install strace >/dev/null; }
}
