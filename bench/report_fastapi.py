"""Writes bench/RESULTS-fastapi.md from the JSON of bench/python/bench_fastapi.py (run by
bench/run_fastapi.sh)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from report_more import cpu_model  # one CPU description for every bench report

TARGET_OPEN = 0.9
TARGET_PYJWT = 1.2
LABELS = {
    "open": "unprotected",
    "open_bearer": "unprotected, sent the bearer request (contrast)",
    "empty_dependency": "an empty dependency, sent the bearer request (contrast)",
    "polyauth_bearer": "polyauth `Security(auth.principal)`, bearer",
    "polyauth_cookie": "polyauth `Security(auth.principal)`, cookie (`session_check` 5 s)",
    "pyjwt": "PyJWT tutorial dependency, bearer",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    run = json.loads(Path(args.json).read_text())
    cells = run["cells"]
    med = {n: {k: statistics.median(v) for k, v in c.items()} for n, c in cells.items()}

    def paired(name: str, base: str) -> float:
        # The median over rounds of the ratio within each round: the machine's drift cancels.
        return statistics.median(a / b for a, b in zip(cells[name]["rps"], cells[base]["rps"]))

    rows = []
    for name, m in med.items():
        spread = f"{min(cells[name]['rps']):.0f}-{max(cells[name]['rps']):.0f}"
        rows.append(
            f"| {LABELS[name]} | {m['rps']:.0f} | {spread} | {paired(name, 'open'):.2f}x "
            f"| {paired(name, 'pyjwt'):.2f}x | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} |"
        )
    verdicts = []
    for name in ("polyauth_bearer", "polyauth_cookie"):
        vs_open = paired(name, "open")
        vs_pyjwt = paired(name, "pyjwt")
        verdicts.append(
            f"- {LABELS[name]}: **{vs_open:.2f}x** unprotected (target >= {TARGET_OPEN}x: "
            f"{'met' if vs_open >= TARGET_OPEN else '**not met**'}), **{vs_pyjwt:.2f}x** the PyJWT "
            f"dependency (target >= {TARGET_PYJWT}x: {'met' if vs_pyjwt >= TARGET_PYJWT else '**not met**'})"
        )
    if "open_bearer" in med:
        verdicts.append(
            f"- contrast: polyauth bearer is {paired('polyauth_bearer', 'open_bearer'):.2f}x the "
            "unprotected endpoint sent the same request (the `Authorization` header parsed by "
            "uvicorn/h11 but not checked)"
        )
    if "empty_dependency" in med:
        verdicts.append(
            f"- contrast: a dependency that does nothing, sent the bearer request, is "
            f"{paired('empty_dependency', 'open'):.2f}x unprotected: the floor of any check written "
            "as a FastAPI dependency; polyauth bearer is "
            f"{paired('polyauth_bearer', 'empty_dependency'):.2f}x it"
        )
    us = {n: 1e6 / m["rps"] for n, m in med.items()}
    per_request = ", ".join(
        f"{LABELS[n].split(' (')[0].replace('polyauth `Security(auth.principal)`', 'polyauth')} "
        f"{us[n]:.0f} µs" + ("" if n == "open" else f" ({us[n] - us['open']:+.0f})")
        for n in med
    )
    v = run["versions"]
    pinning = (
        "uvicorn pinned to CPU 0 and wrk to CPU 1 (`taskset`), so each cell measures what one server "
        "core serves"
        if run["pinned"]
        else "uvicorn and wrk not pinned (they share the cores)"
    )
    text = f"""# FastAPI benchmark

Command: `{args.command}` (bench/run_fastapi.sh), {time.strftime("%Y-%m-%d")}, on {cpu_model()}
({run["cores"]} cores). {run["python"]}, FastAPI {v["fastapi"]}, Starlette {v["starlette"]}, uvicorn
{v["uvicorn"]} ({run["uvicorn"]}, one worker, no access log), PyJWT {v["PyJWT"]} with cryptography
{v["cryptography"]}, {v["wrk"]}.

One endpoint (bench/python/fastapi_bench_app.py) answering the same JSON (six cells), served on
127.0.0.1 and driven by `wrk -t1 -c{run["connections"]}` (keep-alive) in the same run; {pinning}.
Cells of {run["seconds"]:g} s alternate, rotating their order every round, {run["rounds"]} rounds after
a warm-up; every response is checked to be a 200. The ratios are medians over the rounds of each
round's own ratio (this shared machine's speed drifts by about 10 % within seconds, which pairing
within a round cancels); req/s and latencies are medians of the cells.

- **unprotected**: no dependency.
- **unprotected, sent the bearer request**: the same route sent the bearer cell's
  `Authorization` header, which nothing checks (a contrast: what the bigger request costs).
- **an empty dependency**: the route behind `Depends(nothing)`, an async function that does
  nothing, sent the same request: the floor of any check written as a FastAPI dependency.
- **polyauth, bearer**: `Security(auth.principal)` with `Authorization: Bearer` (a token of
  `Tokens.issue`, EdDSA): the header parsed, the token verified by core, a `Principal` built. The
  same token on every request, as a client sends its access token until it expires: after the
  first request core's verified-token cache skips the signature check (typ, exp/nbf/iat, iss and
  aud are still checked on every request); a token seen for the first time also pays the
  signature check.
- **polyauth, cookie**: the same dependency with the access cookie of a session: the token also
  carries `sid`, whose state `session_check` caches for 5 s (one store read per 5 s).
- **PyJWT tutorial dependency**: FastAPI's tutorial (`OAuth2PasswordBearer` + `jwt.decode` with
  the public key, parsed once), the same algorithm (EdDSA), key and token as the bearer cell; it
  checks the signature on every request.

| endpoint | req/s (median) | req/s (min-max) | vs unprotected | vs PyJWT | p50 ms | p99 ms |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts)}

Per request on the server core (1 / median req/s), with the difference to unprotected:
{per_request}. The target allows the protected endpoint {us["open"] / TARGET_OPEN:.0f} µs per
request (0.9x unprotected).

Where a protected request's time goes (measured in-process, the ASGI app called directly, CPython
3.11): FastAPI solves each dependency level for about 8 µs (a `Dependant` walk, four parameter
groups, a cache key, the call), so `auth.principal` has no sub-dependency (the cookie scheme is
declared in OpenAPI by `auth.install(app)` instead of being a second dependency); core's verify
with its cache and the `Principal` take about 5 µs, which is what separates polyauth from the
empty dependency. The empty dependency's own distance from unprotected is FastAPI's, and the
bigger request alone (the first contrast row) is what uvicorn/h11 pays to parse the header.
"""
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
