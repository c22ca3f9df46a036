#!/usr/bin/env python3
"""The daemon works under the unit's SystemCallFilter, JIT included, without a systemd to start it under.

Runs the built daemon under strace (host start, the JIT, Kestrel, an HTTP request, the wait for PostgreSQL, SIGTERM),
and checks every system call it made against what systemd/roomreconciler.service allows: the union of its
SystemCallFilter= allow lines minus its ~ lines, each group expanded by `systemd-analyze syscall-filter`.
A call outside would fail with EPERM under systemd (SystemCallErrorNumber=EPERM). Exits 1 naming such calls.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNIT = os.path.join(ROOT, "systemd", "roomreconciler.service")
DAEMON = os.path.join(ROOT, "src", "RoomReconciler", "bin", "Release", "net10.0", "RoomReconciler.dll")


def expand(name, cache={}):
    """A filter entry as system call names: a group (@...) through systemd-analyze, recursively; else itself."""
    if not name.startswith("@"):
        return {name}
    if name not in cache:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True).stdout
        calls = set()
        for line in out.splitlines()[1:]:
            if not line[:1].isspace():
                break
            entry = line.strip()
            if entry and not entry.startswith("#"):
                calls |= expand(entry)
        cache[name] = calls
    return cache[name]


def allowed_by_unit():
    allow, deny = set(), set()
    for line in open(UNIT):
        match = re.match(r"\s*SystemCallFilter=(~?)(.*)", line)
        if match:
            names = set().union(*(expand(n) for n in match.group(2).split()))
            (deny if match.group(1) else allow).update(names)
    if not allow:
        sys.exit(f"{UNIT} has no SystemCallFilter allow list")
    return allow - deny


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def traced_calls():
    if not os.path.exists(DAEMON):
        subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "RoomReconciler"), "-c", "Release"], check=True,
                       stdout=subprocess.DEVNULL)
    port = free_port()
    trace = tempfile.NamedTemporaryFile(prefix="roomreconciler-strace-", delete=False).name
    daemon = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", trace, "dotnet", DAEMON, "run",
         # PostgreSQL is away on purpose: the daemon serves, not ready, and retries (no database is needed here).
         f"--ConnectionStrings:Postgres=Host=127.0.0.1;Port={free_port()};Username=none;Database=none",
         f"--LiveKit:Url=http://127.0.0.1:{free_port()}", "--LiveKit:ApiKey=key",
         "--LiveKit:ApiSecret=a-secret-of-at-least-thirty-two-characters", f"--Urls=http://127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while get(f"http://127.0.0.1:{port}/healthz") != 200:
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit("the daemon did not serve /healthz under strace")
            time.sleep(0.2)
        if get(f"http://127.0.0.1:{port}/readyz") != 503:
            sys.exit("/readyz was not 503 while PostgreSQL is away")
        time.sleep(3)  # a retry of the database and the timers that run meanwhile
    finally:
        # SIGTERM to the daemon itself (strace does not pass its own on); strace ends when the daemon does.
        for child in subprocess.run(["pgrep", "-P", str(daemon.pid)], capture_output=True, text=True).stdout.split():
            os.kill(int(child), signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            sys.exit("the daemon did not stop within 30 s of SIGTERM under strace")
    calls = set()
    with open(trace) as lines:
        for line in lines:
            match = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
            if match:
                calls.add(match.group(1))
    os.unlink(trace)
    return calls


def main():
    allowed = allowed_by_unit()
    used = traced_calls()
    refused = sorted(used - allowed)
    if refused:
        print(f"the unit's SystemCallFilter would refuse: {', '.join(refused)}")
        return 1
    print(f"{len(used)} system calls used by the daemon (JIT, Kestrel, retries, shutdown), all allowed by the unit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
