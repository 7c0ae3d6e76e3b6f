"""FastAPI benchmark (run by bench/run_fastapi.sh; bench/report_fastapi.py writes
bench/RESULTS-fastapi.md from its JSON).

Requests/s of one endpoint (bench/python/fastapi_bench_app.py) served by uvicorn on 127.0.0.1,
one worker, driven by ``wrk`` with keep-alive connections, in six cells:

- ``open``: unprotected;
- ``open_bearer``: unprotected, sent the bearer cell's request (its ``Authorization`` header): what
  parsing the client's header costs the server without any check (a contrast, not a target);
- ``empty_dependency``: the route behind an async dependency that does nothing: the floor of any
  dependency-based check (a contrast);
- ``polyauth_bearer``: ``Security(auth.principal)`` with ``Authorization: Bearer``;
- ``polyauth_cookie``: the same dependency with the access cookie of a session (``session_check``
  5 s);
- ``pyjwt``: FastAPI's tutorial dependency (``OAuth2PasswordBearer`` + ``jwt.decode``, EdDSA, the
  same key and token as the bearer cell).

The machine has few cores and the load generator competes with the server, so (when ``taskset``
exists) uvicorn is pinned to CPU 0 and wrk to CPU 1: each cell then measures what one server core
serves. Cells alternate (rotating the order every round) so every cell sees the same machine; the
report takes, for each cell, the median over the rounds of its ratio to the unprotected cell of the
same round (a shared machine's speed drifts by 10 % within seconds: short paired cells cancel it).
Every response must be a 200: wrk's non-2xx count fails the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
CELLS = ("open", "open_bearer", "empty_dependency", "polyauth_bearer", "polyauth_cookie", "pyjwt")


def log(msg: str) -> None:
    print(f"[bench fastapi] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(cpu: int | None) -> list[str]:
    if cpu is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def requests_for(tokens: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    bearer = {"Authorization": f"Bearer {tokens['bearer']}"}
    cookie = {"Cookie": f"{tokens['cookie_name']}={tokens['cookie']}"}
    return {
        "open": ("/open", {}),
        "open_bearer": ("/open", bearer),
        "empty_dependency": ("/empty-dependency", bearer),
        "polyauth_bearer": ("/polyauth", bearer),
        "polyauth_cookie": ("/polyauth", cookie),
        "pyjwt": ("/pyjwt", bearer),
    }


def check(base: str, requests: dict[str, tuple[str, dict[str, str]]]) -> None:
    """Every cell answers 200 with the same body; both protected routes refuse a bad token."""
    with httpx.Client(base_url=base) as client:
        bodies = set()
        for name, (path, headers) in requests.items():
            r = client.get(path, headers=headers)
            assert r.status_code == 200, (name, r.status_code, r.text)
            bodies.add(r.text)
        assert len(bodies) == 1, bodies
        bad = {"Authorization": "Bearer " + requests["pyjwt"][1]["Authorization"][7:-4] + "AAAA"}
        for path in ("/polyauth", "/pyjwt"):
            r = client.get(path, headers=bad)
            assert r.status_code == 401, (path, r.status_code, r.text)
            assert client.get(path).status_code == 401


def wrk(
    url: str, headers: dict[str, str], seconds: float, connections: int, cpu: int | None
) -> dict[str, float]:
    cmd = [*pin(cpu), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m is not None, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=2.0, help="length of one cell")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--no-pin", action="store_true", help="do not pin uvicorn and wrk to CPUs")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_fastapi: wrk is required (Debian/Ubuntu: apt-get install wrk)")
    pinned = not args.no_pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = (0, 1) if pinned else (None, None)

    work = Path(tempfile.mkdtemp(prefix="polyauth-bench-fastapi-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BENCH_TOKENS": str(work / "tokens.json"),
        "BENCH_STORE": f"sqlite://{work / 'bench.db'}",
    }
    server_cmd = [
        *pin(server_cpu),
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(HERE),
        "fastapi_bench_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(server_cmd, env=env)
    try:
        deadline = time.monotonic() + 30
        while not (work / "tokens.json").exists() or not _up(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.1)
        tokens = json.loads((work / "tokens.json").read_text())
        requests = requests_for(tokens)
        check(base, requests)
        log(f"uvicorn on {base} (pid {server.pid}); pinned: {pinned}")
        for name in CELLS:  # warm-up
            path, headers = requests[name]
            wrk(base + path, headers, 2, args.connections, client_cpu)
        results: dict[str, dict[str, list[float]]] = {
            name: {"rps": [], "p50_ms": [], "p99_ms": []} for name in CELLS
        }
        for r in range(args.rounds):
            order = CELLS[r % len(CELLS) :] + CELLS[: r % len(CELLS)]
            for name in order:
                path, headers = requests[name]
                m = wrk(base + path, headers, args.seconds, args.connections, client_cpu)
                for k, v in m.items():
                    results[name][k].append(v)
                log(f"round {r + 1}/{args.rounds} {name}: {m['rps']:.0f} req/s, p50 {m['p50_ms']:.2f} ms")
        check(base, requests)  # still 200 everywhere (the tokens did not expire mid-run)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    out = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": {p: version(p) for p in ("fastapi", "starlette", "uvicorn", "pydantic", "PyJWT")}
        | {"cryptography": version("cryptography"), "wrk": wrk_version.strip()},
        "uvicorn": _uvicorn_impl(),
        "cores": os.cpu_count(),
        "pinned": pinned,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "cells": results,
        "medians": {n: statistics.median(results[n]["rps"]) for n in CELLS},
    }
    Path(args.out).write_text(json.dumps(out, indent=2))
    log(f"wrote {args.out}")


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/open", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _uvicorn_impl() -> str:
    """The event loop and HTTP parser uvicorn picks by default (``auto``)."""
    loop = "uvloop" if _has("uvloop") else "asyncio"
    http = "httptools" if _has("httptools") else "h11"
    return f"{loop} + {http}"


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


if __name__ == "__main__":
    main()
