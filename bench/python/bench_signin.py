"""Sign-in benchmark, Python side (run by bench/run_signin.sh; bench/report_signin.py writes
bench/RESULTS-signin.md from its JSON and the Node side's).

Two questions, per backend (SQLite file, PostgreSQL):

1. Does the flow cost anything next to argon2? ``SignIn.password`` with the right password
   (account lookup, throttle reservation and reset, argon2id verification, a new session and its
   access token) against ``PasswordHasher.verify_async`` on the same hash, both with as many
   concurrent callers as the machine has cores. Cells alternate (raw, flow, raw, flow, ...) so
   both see the same machine; the report takes the median of each.
2. Does the unknown-login path take as long as a known login with a wrong password (what an
   attacker can compare)? One caller; the three paths (unknown login, known login with a wrong
   password, known login with the right one) are timed in a shuffled order, round after round.

The throttle allows any number of failures here (``free_attempts`` = 10**9): the bench measures
the work of each path, not the lockout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polyauth

PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PASSWORD = "plum-cactus-orbit-lantern-42"
WRONG = "violet-harbour-quartz-meadow-17"
CELL_S = 3.0
ROUNDS = 3
LATENCY_ROUNDS = 40
HASHER = polyauth.PasswordHasher()


def log(msg: str) -> None:
    print(f"[bench signin python] {msg}", file=sys.stderr, flush=True)


async def rate(call: Any, callers: int, seconds: float) -> float:
    """Calls per second of ``callers`` tasks each awaiting ``call(i)`` in a loop for ``seconds``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(i)
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(callers)))
    return done / (time.perf_counter() - t0)


async def bench_backend(url: str, callers: int) -> dict[str, Any]:
    store = await polyauth.Store.open(url)
    hasher = HASHER
    accounts = polyauth.Accounts(store, hasher)
    tokens = polyauth.Tokens(
        polyauth.KeySet.generate("EdDSA"), issuer="https://auth.example.com", audience="api"
    )
    sessions = polyauth.Sessions(store, tokens)
    throttle = polyauth.Throttle(store, free_attempts=10**9)
    signin = polyauth.SignIn(accounts, sessions, throttle=throttle)
    tag = secrets.token_hex(4)
    logins = [f"user{i}-{tag}@example.com" for i in range(callers)]
    for login in logins:
        await accounts.create(login, PASSWORD)
    stored = hasher.hash(PASSWORD)

    async def raw(_: int) -> None:
        if not await hasher.verify_async(stored, PASSWORD):
            raise AssertionError("verify failed")

    async def flow(i: int) -> None:
        r = await signin.password(logins[i], PASSWORD)
        if r["status"] != "ok":
            raise AssertionError(r)

    await rate(raw, callers, 1.0)  # warm-up
    await rate(flow, callers, 1.0)
    raw_rates, flow_rates = [], []
    for _ in range(ROUNDS):
        raw_rates.append(await rate(raw, callers, CELL_S))
        flow_rates.append(await rate(flow, callers, CELL_S))

    async def unknown() -> None:
        try:
            await signin.password(f"nobody-{secrets.token_hex(6)}@example.com", PASSWORD)
        except polyauth.InvalidCredentialsError:
            return
        raise AssertionError("unknown login signed in")

    async def known_wrong() -> None:
        try:
            await signin.password(logins[0], WRONG)
        except polyauth.InvalidCredentialsError:
            return
        raise AssertionError("wrong password signed in")

    async def known_right() -> None:
        await flow(0)

    paths = {"unknown": unknown, "known_wrong": known_wrong, "known_right": known_right}
    latency: dict[str, list[float]] = {k: [] for k in paths}
    for _ in range(LATENCY_ROUNDS):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            await paths[name]()
            latency[name].append(time.perf_counter() - t0)
    return {"raw_verify_per_s": raw_rates, "signin_per_s": flow_rates, "latency_s": latency}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    callers = os.cpu_count() or 2
    namespace = f"b{secrets.token_hex(6)}"
    tmp = tempfile.mkdtemp(prefix="polyauth-bench-signin-")
    results: dict[str, Any] = {}
    try:
        for name, url in (
            ("sqlite", f"sqlite://{Path(tmp) / 'signin.db'}"),
            ("postgres", f"{PG_URL}?polyauth_namespace={namespace}"),
        ):
            log(f"{name}: {callers} callers, {ROUNDS} x {CELL_S:.0f} s per path, {LATENCY_ROUNDS} rounds")
            results[name] = await bench_backend(url, callers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if shutil.which("psql"):
            subprocess.run(
                ["psql", PG_URL, "-q", "-c", f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'],
                capture_output=True,
                timeout=120,
            )
    out = {
        "language": "python",
        "runtime": f"Python {platform.python_version()}",
        "polyauth": polyauth.__version__,
        "callers": callers,
        "hasher": {"m_kib": HASHER.memory_kib, "t": HASHER.time_cost, "p": HASHER.parallelism},
        "backends": results,
    }
    Path(args.out).write_text(json.dumps(out, indent=1))
    for name, r in results.items():
        ratio = statistics.median(r["signin_per_s"]) / statistics.median(r["raw_verify_per_s"])
        log(f"{name}: sign-ins/s = {ratio:.3f} x raw verify/s")


if __name__ == "__main__":
    asyncio.run(main())
