"""Session refresh benchmark, Python side (run by bench/run_more.sh).

Writes raw samples as JSON (``--out``); bench/report_more.py turns them into
bench/RESULTS-tokens-sessions.md.

For each backend (SQLite, PostgreSQL, Redis) and each concurrency (1, 16, 64 asyncio tasks), every
caller starts its own session and then refreshes it in a loop for a fixed time, always presenting
the refresh token the previous rotation returned; the cell reports rotations per second and the
p50/p99 latency of one ``await sessions.refresh(...)``. Access tokens are EdDSA. Every rotation's
result is used (the next call presents its refresh token, so a failed rotation stops the caller with
an exception), and after each cell the last access token of every caller is verified.

Next to each polyauth cell, interleaved with it (the order flips per cell), the same backend's raw
round-trip rate with the same number of concurrent clients: ``pgbench -f select1.sql -M prepared``
for PostgreSQL and ``redis-benchmark -t ping`` for Redis (the servers' own C clients, since neither
psycopg/asyncpg nor a Node ``pg`` client is installed), and ``SELECT 1`` through Python's sqlite3 on
one connection for SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import re
import resource
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import polyauth

PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379"
PG_ARGS = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
CONCURRENCY = (1, 16, 64)
ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com"
CLAIMS = {"scope": "openid profile orders:read", "amr": ["pwd"], "roles": ["customer"]}
QUIET_CORES = 0.3
QUIET_MAX_WAIT_S = 3.0
SERVER_PROCS = ("postgres", "redis-server")


def log(msg: str) -> None:
    print(f"[bench sessions python] {msg}", file=sys.stderr, flush=True)


# --- load accounting ---------------------------------------------------------------------------


def cpu_busy_s() -> float:
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, _steal = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def server_cpu_by_pid() -> dict[int, float]:
    """CPU seconds used so far by each database server process (postgres, redis-server)."""
    out: dict[int, float] = {}
    tck = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        if comm in SERVER_PROCS or comm.startswith("postgres"):
            rest = stat[stat.rfind(")") + 2 :].split()
            out[int(d)] = (int(rest[11]) + int(rest[12])) / tck  # utime + stime
    return out


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's threads, summed by thread name."""
    out: dict[str, float] = {}
    tck = os.sysconf("SC_CLK_TCK")
    for t in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{t}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        rest = stat[stat.rfind(")") + 2 :].split()
        name = "python" if t == str(os.getpid()) else comm
        out[name] = out.get(name, 0.0) + (int(rest[11]) + int(rest[12])) / tck
    return out


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def wait_quiet() -> float:
    t0 = time.perf_counter()
    while True:
        b0 = cpu_busy_s()
        time.sleep(0.25)
        waited = time.perf_counter() - t0
        if (cpu_busy_s() - b0) / 0.25 < QUIET_CORES or waited >= QUIET_MAX_WAIT_S or b0 != b0:
            return waited


class CpuWindow:
    """CPU split of a cell, in cores: this process (by thread), its children (the raw tools), the
    database servers, and everything else on the machine (other load).

    Server processes are read at the start and end; with ``poll=True`` also every 0.1 s, so that
    server backends which exit before the end (pgbench's connections) still count.
    """

    def __init__(self, poll: bool = False) -> None:
        self.poll = poll

    def _sample_servers(self) -> None:
        for pid, cpu in server_cpu_by_pid().items():
            self.srv_first.setdefault(pid, 0.0 if self.started else cpu)
            self.srv_last[pid] = cpu

    def _poller(self) -> None:
        while not self.stop.wait(0.1):
            self._sample_servers()

    def __enter__(self) -> CpuWindow:
        self.srv_first: dict[int, float] = {}
        self.srv_last: dict[int, float] = {}
        self.started = False
        self._sample_servers()
        self.started = True
        self.threads0 = thread_cpu_s()
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.busy0, self.wall0 = cpu_busy_s(), time.perf_counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poller, daemon=True) if self.poll else None
        if self.thread:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall0
        busy = cpu_busy_s() - self.busy0
        if self.thread:
            self.stop.set()
            self.thread.join()
        self._sample_servers()
        threads = thread_cpu_s()
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = (ch.ru_utime + ch.ru_stime) - (self.children0.ru_utime + self.children0.ru_stime)
        own = {k: (v - self.threads0.get(k, 0.0)) / wall for k, v in threads.items()}
        own = {k: v for k, v in own.items() if v > 0.0005}
        srv = sum(self.srv_last[p] - self.srv_first[p] for p in self.srv_last)
        accounted = sum(own.values()) * wall + children + srv
        self.result = {
            "wall_s": wall,
            "own_cores": sum(own.values()),
            "own_by_thread": own,
            "tool_cores": children / wall,
            "server_cores": srv / wall,
            "other_cores": max(0.0, busy - accounted) / wall,
        }


# --- polyauth cells ----------------------------------------------------------------------------


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


async def polyauth_cell(
    sessions: Any, tokens: Any, backend: str, conc: int, seconds: float, tag: str
) -> dict[str, Any]:
    pairs = await asyncio.gather(*(sessions.start(f"{tag}-{conc}-{i}", CLAIMS) for i in range(conc)))
    refresh = [p.refresh_token for p in pairs]
    last_access = [p.access_token for p in pairs]

    async def warm(i: int) -> None:
        for _ in range(3):
            p = await sessions.refresh(refresh[i])
            refresh[i] = p.refresh_token

    await asyncio.gather(*(warm(i) for i in range(conc)))
    lat: list[float] = []
    counts = [0] * conc

    async def caller(i: int, deadline: float) -> None:
        tok = refresh[i]
        perf = time.perf_counter
        while perf() < deadline:
            t0 = perf()
            p = await sessions.refresh(tok)
            lat.append(perf() - t0)
            tok = p.refresh_token
            counts[i] += 1
            last_access[i] = p.access_token
        refresh[i] = tok

    gc.collect()
    with CpuWindow() as cpu:
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(i, t0 + seconds) for i in range(conc)))
        elapsed = time.perf_counter() - t0
    for i, tok in enumerate(last_access):  # outside timing: the newest access tokens are valid
        claims = tokens.verify(tok)
        if claims["sub"] != f"{tag}-{conc}-{i}" or claims.get("sid") != pairs[i].session_id:
            raise SystemExit(f"{backend}: unexpected claims after rotation: {claims}")
    if min(counts) == 0:
        raise SystemExit(f"{backend} x{conc}: a caller never completed a rotation")
    return {
        "kind": "polyauth",
        "backend": backend,
        "concurrency": conc,
        "rotations": len(lat),
        "elapsed_s": elapsed,
        "per_s": len(lat) / elapsed,
        "p50_ms": statistics.median(lat) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "min_per_caller": min(counts),
        "max_per_caller": max(counts),
        "cpu": cpu.result,
    }


async def pool_cell(store: Any, backend: str, conc: int, seconds: float) -> dict[str, Any]:
    """The issue's baseline: a trivial query (`Store.ping`: SELECT 1 / PING) through the same pool,
    from the same language, with the same number of concurrent callers."""
    for _ in range(20):
        await store.ping()
    counts = [0] * conc

    async def caller(i: int, deadline: float) -> None:
        perf = time.perf_counter
        while perf() < deadline:
            await store.ping()
            counts[i] += 1

    gc.collect()
    with CpuWindow() as cpu:
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(i, t0 + seconds) for i in range(conc)))
        elapsed = time.perf_counter() - t0
    return {
        "kind": "pool",
        "backend": backend,
        "concurrency": conc,
        "tool": "Store.ping() through polyauth's pool (SELECT 1 / PING)",
        "per_s": sum(counts) / elapsed,
        "cpu": cpu.result,
    }


# --- raw round trips ---------------------------------------------------------------------------


def raw_sqlite(path: str, seconds: float) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    cur = conn.cursor()
    for _ in range(1000):
        cur.execute("SELECT 1").fetchone()
    n = 0
    with CpuWindow() as cpu:
        t0 = time.perf_counter()
        end = t0 + seconds
        while time.perf_counter() < end:
            for _ in range(200):
                if cur.execute("SELECT 1").fetchone() != (1,):
                    raise SystemExit("sqlite3: SELECT 1 returned something else")
            n += 200
        elapsed = time.perf_counter() - t0
    conn.close()
    return {
        "kind": "raw",
        "backend": "sqlite",
        "concurrency": 1,
        "tool": "python sqlite3, one connection, SELECT 1",
        "per_s": n / elapsed,
        "elapsed_s": elapsed,
        "cpu": cpu.result,
    }


def pg_free_connections() -> int:
    """Connection slots PostgreSQL has left for pgbench (the server is shared with other work)."""
    q = (
        "SELECT current_setting('max_connections')::int"
        " - current_setting('superuser_reserved_connections')::int"
        " - count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )
    r = subprocess.run(["psql", *PG_ARGS, "-Atc", q, "postgres"], capture_output=True, text=True, check=False)
    try:
        return int(r.stdout.strip()) - 4
    except ValueError:
        return 1 << 30


def raw_postgres(want: int, seconds: int, script: str, what: str) -> dict[str, Any]:
    conc = max(1, min(want, pg_free_connections()))
    threads = min(conc, os.cpu_count() or 2)
    cmd = ["pgbench", "-n", "-M", "prepared", "-f", script, "-c", str(conc), "-j", str(threads)]
    cmd += ["-T", str(seconds), *PG_ARGS, "postgres"]
    with CpuWindow(poll=True) as cpu:
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", r.stdout)
    failed = re.search(r"number of failed transactions: ([0-9]+)", r.stdout)
    if r.returncode != 0 or m is None or (failed and int(failed.group(1)) > 0):
        raise SystemExit(f"pgbench failed: {r.stdout}\n{r.stderr}")
    lat = re.search(r"latency average = ([0-9.]+) ms", r.stdout)
    return {
        "kind": what,
        "backend": "postgres",
        "concurrency": want,
        "clients_used": conc,
        "tool": f"pgbench -M prepared -f {Path(script).name} -c {conc} -j {threads} -T {seconds}",
        "per_s": float(m.group(1)),
        "avg_ms": float(lat.group(1)) if lat else None,
        "cpu": cpu.result,
    }


def raw_redis(conc: int, seconds: float, rate_guess: float, command: list[str], what: str) -> dict[str, Any]:
    n = max(2000, int(rate_guess * seconds))
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", "6379", "-c", str(conc), "-n", str(n), "--csv"]
    cmd += ["-r", "100000", *command] if command else ["-t", "ping_mbulk"]
    with CpuWindow() as cpu:
        r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    rows = [line.replace('"', "").split(",") for line in r.stdout.splitlines()]
    rows = [row for row in rows if len(row) >= 7 and row[0] != "test"]
    if r.returncode != 0 or len(rows) != 1 or "ERR" in r.stdout:
        raise SystemExit(f"redis-benchmark failed: {r.stdout}\n{r.stderr}")
    row = rows[0]
    shown = " ".join(command[:2]) + " ..." if command else "-t ping_mbulk"
    return {
        "kind": what,
        "backend": "redis",
        "concurrency": conc,
        "tool": f"redis-benchmark {shown} -c {conc} -n {n}",
        "per_s": float(row[1]),
        "p50_ms": float(row[4]),
        "p99_ms": float(row[6]),
        "cpu": cpu.result,
    }


# The "same work" baselines: what the servers do for one rotation, driven by their own C clients
# (no polyauth, no Python): PostgreSQL a transaction of the same shape as polyauth's rotation (six
# statements: BEGIN, lock-and-read the session, mark the token used, advance the session, insert
# the new token hash, COMMIT with its WAL flush); Redis a Lua script with the same commands as
# polyauth's rotation script (three HMGET/EXISTS reads, PTTL, HSET x3, DEL, PEXPIRE, HGETALL).

PG_SAME_WORK_SETUP = """
CREATE SCHEMA IF NOT EXISTS {ns};
CREATE TABLE {ns}.raw_sessions (id int PRIMARY KEY, subject text NOT NULL, generation bigint NOT NULL,
  last_used_at bigint NOT NULL, expires_at bigint NOT NULL, claims text NOT NULL);
INSERT INTO {ns}.raw_sessions
  SELECT g, 'user-' || g, 0, 0, 9999999999, repeat('x', 120) FROM generate_series(1, 100000) g;
CREATE TABLE {ns}.raw_tokens (token_hash text PRIMARY KEY, session_id int NOT NULL,
  generation bigint NOT NULL, parent_hash text, created_at bigint NOT NULL, used_at bigint);
INSERT INTO {ns}.raw_tokens SELECT md5(g::text) || md5(g::text), g, 0, NULL, 0, NULL
  FROM generate_series(1, 100000) g;
ANALYZE {ns}.raw_sessions; ANALYZE {ns}.raw_tokens;
"""

PG_SAME_WORK_SCRIPT = """\\set id random(1, 100000)
\\set now random(1, 2000000000)
BEGIN;
UPDATE {ns}.raw_sessions SET generation = generation WHERE id = (SELECT session_id FROM {ns}.raw_tokens
  WHERE token_hash = md5(:id::text) || md5(:id::text)) RETURNING *;
UPDATE {ns}.raw_tokens SET used_at = :now WHERE token_hash = md5(:id::text) || md5(:id::text);
UPDATE {ns}.raw_sessions SET generation = generation + 1, last_used_at = :now WHERE id = :id;
INSERT INTO {ns}.raw_tokens VALUES (md5(random()::text) || md5(random()::text), :id, 1, NULL, :now, NULL);
COMMIT;
"""

REDIS_SAME_WORK_LUA = """
local row = redis.call('HMGET', KEYS[1], 'sid', 'gen', 'used_at')
redis.call('EXISTS', KEYS[3])
local s = redis.call('HMGET', KEYS[3], 'revoked_at', 'expires_at', 'last_used_at', 'idle_ttl', 'generation')
local pttl = redis.call('PTTL', KEYS[3])
redis.call('HSET', KEYS[1], 'used_at', ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'sid', 'sess', 'gen', '1')
redis.call('PEXPIRE', KEYS[2], 3600000)
redis.call('HSET', KEYS[3], 'generation', '1', 'last_used_at', ARGV[1], 'expires_at', '9999999999',
  'idle_ttl', '604800', 'subject', 'user-1', 'audience', 'https://api.example.com')
return {'rotated', redis.call('HGETALL', KEYS[3])}
"""


def setup_same_work_postgres(namespace: str, tmp: str) -> str:
    """Creates the tables (in the namespace's schema); returns the pgbench script's path."""
    r = subprocess.run(
        ["psql", *PG_ARGS, "-q", "-v", "ON_ERROR_STOP=1", "postgres"],
        input=PG_SAME_WORK_SETUP.format(ns=namespace),
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"psql setup failed: {r.stderr}")
    script = os.path.join(tmp, "rotation_shaped.sql")
    Path(script).write_text(PG_SAME_WORK_SCRIPT.format(ns=namespace))
    return script


def setup_same_work_redis(namespace: str) -> list[str]:
    """Loads the Lua script; returns the redis-benchmark command (keys under the namespace)."""
    sha = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "script", "load", REDIS_SAME_WORK_LUA],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    prefix = f"polyauth:{namespace}:raw"
    command = ["evalsha", sha, "3", f"{prefix}:t:__rand_int__", f"{prefix}:t:__rand_int__"]
    command += [f"{prefix}:s:__rand_int__", "1700000000"]
    return command


# --- driver ------------------------------------------------------------------------------------


def cleanup(namespace: str) -> None:
    """Drops the namespace's PostgreSQL schema and Redis keys (SQLite lives in a temp dir)."""
    subprocess.run(
        ["psql", *PG_ARGS, "-q", "-c", f"DROP SCHEMA IF EXISTS {namespace} CASCADE", "postgres"],
        capture_output=True,
        check=False,
    )
    keys = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "--scan", "--pattern", f"polyauth:*{namespace}*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if keys:
        lines = "".join("UNLINK " + " ".join(keys[i : i + 1000]) + "\n" for i in range(0, len(keys), 1000))
        subprocess.run(["redis-cli", "-h", "127.0.0.1"], input=lines, capture_output=True, text=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    namespace = args.namespace or f"bench_{secrets.token_hex(4)}_py"
    keys = polyauth.KeySet.generate("EdDSA")
    tokens = polyauth.Tokens(keys, issuer=ISSUER, audience=AUDIENCE)
    tmp = tempfile.mkdtemp(prefix="polyauth-bench-")
    db = os.path.join(tmp, "sessions.db")
    select1 = os.path.join(tmp, "select1.sql")
    Path(select1).write_text("SELECT 1;\n")
    urls = {
        "sqlite": f"sqlite://{db}",
        "postgres": f"{PG_URL}?polyauth_namespace={namespace}",
        "redis": f"{REDIS_URL}?polyauth_namespace={namespace}",
    }
    cells: list[dict[str, Any]] = []
    rate_guess = {"raw": 40000.0, "same-work": 15000.0}
    raw_s = max(1, round(args.raw_seconds))
    flip = 0
    try:
        for backend in args.backends.split(","):
            store = await polyauth.Store.open(urls[backend])
            sessions = polyauth.Sessions(store, tokens)
            pg_script, redis_cmd = "", []
            if backend == "postgres" and not args.no_same_work:
                pg_script = setup_same_work_postgres(namespace, tmp)
            if backend == "redis" and not args.no_same_work:
                redis_cmd = setup_same_work_redis(namespace)
            waited = await asyncio.to_thread(wait_quiet)
            for conc in CONCURRENCY:
                log(f"{backend} x{conc} ...")
                steps = ["polyauth", "pool"]
                if backend != "sqlite":
                    steps += ["raw"] if args.no_same_work else ["raw", "same-work"]
                elif conc == 1:
                    steps.append("raw")
                k = flip % len(steps)  # rotate which measurement goes first
                flip += 1
                for step in steps[k:] + steps[:k]:
                    if step == "polyauth":
                        c = await polyauth_cell(sessions, tokens, backend, conc, args.seconds, "py")
                    elif step == "pool":
                        c = await pool_cell(store, backend, conc, args.raw_seconds)
                    elif backend == "sqlite":
                        c = raw_sqlite(db, args.raw_seconds)
                    elif backend == "postgres":
                        c = raw_postgres(conc, raw_s, select1 if step == "raw" else pg_script, step)
                    else:
                        cmd = [] if step == "raw" else redis_cmd
                        c = raw_redis(conc, args.raw_seconds, rate_guess[step], cmd, step)
                        rate_guess[step] = c["per_s"]
                    c["waited_for_quiet_s"] = round(waited, 2)
                    cells.append(c)
                    extra = f" p50 {c['p50_ms']:.2f} ms p99 {c['p99_ms']:.2f} ms" if "p99_ms" in c else ""
                    cpu = " ".join(f"{n}={v:.2f}" for n, v in c["cpu"].items() if n.endswith("_cores"))
                    log(f"  {c['kind']:9} {c['per_s']:10.0f}/s{extra}  cores: {cpu}")
    finally:
        cleanup(namespace)
        shutil.rmtree(tmp, ignore_errors=True)
    return {"cells": cells, "namespace": namespace, "access_alg": "EdDSA"}


def versions() -> dict[str, str]:
    v = {"python": platform.python_version(), "sqlite (python)": sqlite3.sqlite_version}
    try:
        v["polyauth"] = metadata.version("polyauth")
    except metadata.PackageNotFoundError:
        v["polyauth"] = "?"
    for name, cmd in (("pgbench", ["pgbench", "--version"]), ("redis-benchmark", ["redis-benchmark", "-v"])):
        try:
            v[name] = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            v[name] = "missing"
    try:
        v["postgres server"] = subprocess.run(
            ["psql", *PG_ARGS, "-Atc", "SHOW server_version", "postgres"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        v["postgres fsync / synchronous_commit"] = subprocess.run(
            [
                "psql",
                *PG_ARGS,
                "-Atc",
                "SELECT current_setting('fsync') || ' / ' || current_setting('synchronous_commit')",
                "postgres",
            ],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        info = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "info", "server"], capture_output=True, text=True, check=False
        ).stdout
        m = re.search(r"redis_version:(\S+)", info)
        v["redis server"] = m.group(1) if m else "?"
    except OSError:
        pass
    return v


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--setup-same-work",
        metavar="DIR",
        help="only create the same-work baselines for --namespace (script in DIR) and print them as "
        "JSON (used by bench/node/bench_sessions.mjs)",
    )
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per polyauth cell")
    ap.add_argument("--raw-seconds", type=float, default=2.0, help="seconds per raw round-trip cell")
    ap.add_argument("--backends", default="sqlite,postgres,redis")
    ap.add_argument("--namespace", default=None, help="polyauth_namespace (default: random)")
    ap.add_argument("--no-same-work", action="store_true", help="skip the rotation-shaped baselines")
    args = ap.parse_args()
    if args.setup_same_work:
        if not args.namespace:
            ap.error("--setup-same-work needs --namespace (a schema polyauth already created)")
        pg_script = setup_same_work_postgres(args.namespace, args.setup_same_work)
        print(json.dumps({"pg_script": pg_script, "redis_command": setup_same_work_redis(args.namespace)}))
        return
    if args.out is None:
        ap.error("--out is required")
    out: dict[str, Any] = {
        "lang": "python",
        "versions": versions(),
        "loadavg_before": loadavg(),
        "started": time.time(),
    }
    out.update(asyncio.run(run(args)))
    out["loadavg_after"] = loadavg()
    out["finished"] = time.time()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main()
