#!/usr/bin/env python3
"""Builds the Dockerfile's build stage without a container engine.

Copies into a temporary folder exactly what the build stage's COPY lines copy (honouring .dockerignore), then runs
the stage's RUN commands there with /app redirected into the folder. A source the Dockerfile forgets to COPY makes
the publish fail here as it would in `docker build`. Then checks the published output and the runtime stage.
Exits non-zero with one line per problem.
"""
import fnmatch, os, re, shlex, shutil, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(root)

def ignored_patterns():
    if not os.path.exists(".dockerignore"):
        return []
    lines = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
    return [l.rstrip("/") for l in lines]

def is_ignored(rel, patterns):
    rel = rel.replace(os.sep, "/")
    for p in patterns:
        # Docker's ** matches any number of folders, including none; a match on a folder covers what is inside it.
        variants = {p, p.replace("**/", "")}
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            for v in variants:
                if fnmatch.fnmatchcase(prefix, v) or ("**/" in p and fnmatch.fnmatchcase(parts[i - 1], v)):
                    return True
    return False

def stages(text):
    text = re.sub(r"\\\n\s*", " ", text)
    result, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            current = {"from": rest, "steps": []}
            result.append(current)
        elif current is not None:
            current["steps"].append((word, rest.strip()))
    return result

def copy(src, dest, context, patterns):
    sources = [s for s in sorted(__import__("glob").glob(src)) if not is_ignored(s, patterns)]
    if not sources:
        raise SystemExit(f"COPY {src}: nothing in the context matches")
    for s in sources:
        if os.path.isdir(s):
            for dirpath, dirnames, filenames in os.walk(s):
                dirnames[:] = [d for d in dirnames if not is_ignored(os.path.join(dirpath, d), patterns)]
                for f in filenames:
                    path = os.path.join(dirpath, f)
                    if is_ignored(path, patterns):
                        continue
                    target = os.path.join(context, dest, os.path.relpath(path, s))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    shutil.copy2(path, target)
        else:
            target = os.path.join(context, dest, os.path.basename(s)) if dest.endswith("/") else os.path.join(context, dest)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(s, target)

def main():
    problems = []
    build, runtime = stages(open("Dockerfile").read())[:2]
    patterns = ignored_patterns()
    with tempfile.TemporaryDirectory(prefix="roomreconciler-image-") as context:
        workdir, out = context, os.path.join(context, "_app")
        for word, rest in build["steps"]:
            if word == "WORKDIR":
                workdir = os.path.join(context, rest.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            elif word == "COPY":
                *srcs, dest = shlex.split(rest)
                for s in srcs:
                    copy(s, os.path.relpath(os.path.join(workdir, dest), context) + ("/" if dest.endswith("/") else ""), context, patterns)
            elif word == "RUN":
                command = re.sub(r"(?<=\s)/app\b", out, rest)
                print(f"==> RUN {rest}", file=sys.stderr)
                # A package cache of its own, as in a fresh build container: a pack that restore was never told
                # to fetch must not be found in the developer's cache.
                env = dict(os.environ, NUGET_PACKAGES=os.path.join(context, "_nuget"), DOTNET_CLI_TELEMETRY_OPTOUT="1")
                if subprocess.run(command, shell=True, cwd=workdir, env=env).returncode != 0:
                    print(f"FAIL the build stage's RUN failed in a context holding only what the COPY lines copy: {rest}")
                    return 1
        published = os.listdir(out) if os.path.isdir(out) else []
        if "RoomReconciler.dll" not in published:
            problems.append("the publish output has no RoomReconciler.dll")
        migrations = os.path.join(out, "db", "migrations")
        if not (os.path.isdir(migrations) and any(f.endswith(".sql") for f in os.listdir(migrations))):
            problems.append("the publish output carries no db/migrations/*.sql")
    steps = dict(runtime["steps"])
    if steps.get("USER") != "$APP_UID":
        problems.append(f"the runtime stage runs as USER {steps.get('USER')!r}, not the numeric $APP_UID that runAsNonRoot can verify")
    if "HEALTHCHECK" in steps and re.search(r"\b(curl|wget|sh)\b", steps["HEALTHCHECK"]):
        problems.append("the HEALTHCHECK needs a shell or curl, which the runtime image has not")
    for p in problems:
        print(f"FAIL {p}")
    if not problems:
        print("ok the image's build stage publishes from its COPY lines alone; the runtime stage runs as $APP_UID")
    return 1 if problems else 0

sys.exit(main())
