"""Writes bench/RESULTS-next.md from the JSON of bench/node/bench_next.mjs (run by
bench/run_next.sh)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from report_more import cpu_model  # one CPU description for every bench report

TARGET_OPEN = 0.9
TARGET_JOSE = 1.2
# Other processes' CPU on the server's core during a cell above which the cell is flagged.
DISTURBED_CORES = 0.1
LABELS = {
    "open": "unprotected",
    "polyauth_bearer": "polyauth `withAuth`, bearer",
    "polyauth_cookie": "polyauth `withAuth`, cookie (`sessionCheck` 5 s)",
    "jose": "jose `jwtVerify` (key imported once), bearer",
}
COST_LABELS = {
    "authenticate_bearer": "`auth.authenticate(request)`, bearer",
    "authenticate_cookie": "`auth.authenticate(request)`, cookie (`sessionCheck` 5 s)",
    "jwtVerify": "jose `jwtVerify(token, key, {algorithms, issuer, audience})`",
}


def verdict(ratio: float, target: float) -> str:
    return "met" if ratio >= target else "**not met**"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    run: dict[str, Any] = json.loads(Path(args.json).read_text())
    cells = run["cells"]
    med = {n: {k: statistics.median(v) for k, v in c.items()} for n, c in cells.items()}
    per_cpu = {
        n: statistics.median(r / s for r, s in zip(c["rps"], c["server_cores"])) for n, c in cells.items()
    }
    rows = []
    for name, m in med.items():
        spread = f"{min(cells[name]['rps']):.0f}-{max(cells[name]['rps']):.0f}"
        rows.append(
            f"| {LABELS[name]} | {m['rps']:.0f} | {spread} | {m['rps'] / med['open']['rps']:.2f}x "
            f"| {m['rps'] / med['jose']['rps']:.2f}x | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} "
            f"| {per_cpu[name]:.0f} | {m['other_cores']:.2f} (max {max(cells[name]['other_cores']):.2f}) |"
        )
    verdicts = []
    for name in ("polyauth_bearer", "polyauth_cookie"):
        vs_open = med[name]["rps"] / med["open"]["rps"]
        vs_jose = med[name]["rps"] / med["jose"]["rps"]
        verdicts.append(
            f"- {LABELS[name]}: **{vs_open:.2f}x** unprotected (target >= {TARGET_OPEN}x: "
            f"{verdict(vs_open, TARGET_OPEN)}), **{vs_jose:.2f}x** the jose handler (target >= "
            f"{TARGET_JOSE}x: {verdict(vs_jose, TARGET_JOSE)}); per server CPU-second "
            f"{per_cpu[name] / per_cpu['open']:.2f}x and {per_cpu[name] / per_cpu['jose']:.2f}x"
        )

    # Time per request on the one server core (1 / median req/s), and what the targets allow the
    # protected route: 0.9x unprotected is open/0.9 per request, 1.2x jose is jose/1.2.
    us = {n: 1e6 / m["rps"] for n, m in med.items()}
    budget = (
        f"Per request on the server core (1 / median req/s): unprotected {us['open']:.0f} µs, "
        f"jose {us['jose']:.0f} µs ({us['jose'] - us['open']:+.0f}), polyauth bearer "
        f"{us['polyauth_bearer']:.0f} µs ({us['polyauth_bearer'] - us['open']:+.0f}), cookie "
        f"{us['polyauth_cookie']:.0f} µs ({us['polyauth_cookie'] - us['open']:+.0f}). The targets allow "
        f"the protected route {us['open'] / TARGET_OPEN:.0f} µs (0.9x unprotected) and "
        f"{us['jose'] / TARGET_JOSE:.0f} µs (1.2x jose) per request."
    )

    cost = run["verify_cost"]
    cost_rows = [
        f"| {COST_LABELS[n]} | {statistics.median(v):.1f} | {min(v):.1f}-{max(v):.1f} |"
        for n, v in cost["us"].items()
    ]

    disturbed = sum(o > DISTURBED_CORES for c in cells.values() for o in c["other_cores"])
    total = sum(len(c["other_cores"]) for c in cells.values())
    shared = (
        " On a shared machine the routes do not lose the same share of that core: the jose route hands"
        " its signature check to libuv's thread pool, so its server has a second runnable thread on"
        " CPU 0 and the kernel moves other processes off it, while the single-threaded routes share"
        " it; req/s then favours the jose route, req per server CPU-s does not."
        if disturbed
        else ""
    )
    v = run["versions"]
    pinning = (
        "`next start` pinned to CPU 0 and wrk to CPU 1 (`taskset`), so each cell measures what one "
        "server core serves"
        if run["pinned"]
        else "`next start` and wrk not pinned (they share the cores)"
    )
    q = run["quiet"]
    columns = [
        "route",
        "req/s (median)",
        "req/s (min-max)",
        "vs unprotected",
        "vs jose",
        "p50 ms",
        "p99 ms",
        "req per server CPU-s",
        "others' CPU on the server core",
    ]
    header = "| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|"
    text = f"""# Next.js benchmark

Command: `{args.command}` (bench/run_next.sh), {time.strftime("%Y-%m-%d")}, on {cpu_model()}
({run["cores"]} cores). Node {run["node"]}, Next.js {v["next"]} (`next build`, then `next start`),
React {v["react"]}, jose {v["jose"]}, polyauth {v["polyauth"]}, {v["wrk"]}.

One route handler of `bench/next-app` answering the same JSON four ways, served by `next start` on
127.0.0.1 and driven by `wrk -t1 -c{run["connections"]}` (keep-alive) in the same run; {pinning}.
Cells of {run["seconds"]:g} s alternate, rotating their order every round; medians of {run["rounds"]}
rounds after a {run["warmup"]:g} s warm-up per cell; before each cell the run waits (up to
{q["max_wait_s"]} s) for other processes to use less than {q["cores"]} cores. Each route is checked
first (200 with the token, 401 with a tampered token and with none) and again at the end, and
every response must be a 2xx (wrk's non-2xx count fails the run).

- **unprotected**: `app/api/open/route.ts`, no check.
- **polyauth, bearer**: `app/api/polyauth/route.ts`, `withAuth` of `createAuth` (`polyauth/next`,
  EdDSA key set from the environment, SQLite store in a temporary directory) with
  `Authorization: Bearer` (a token of `Tokens.issue`): the header parsed, the token verified by
  core, a `Principal` built. The cell sends one token throughout, so after its first request core
  serves it from the verified-token cache (every claim checked again, the signature not); jose
  checks the signature on every request.
- **polyauth, cookie**: the same route with the access cookie of a session: the token also carries
  `sid`, whose state `sessionCheck` caches for 5 s (one store read per 5 s).
- **jose**: `app/api/jose/route.ts`, `jwtVerify` with the public key imported once per process
  (`importJWK`), the same algorithm (EdDSA), issuer, audience and token as the bearer cell.

{header}
{chr(10).join(rows)}

{chr(10).join(verdicts)}

{budget}

"req per server CPU-s" divides each cell's req/s by the CPU the server process used (all its
threads); "others' CPU on the server core" is what other processes took from CPU 0 during the cell
(median and max, in cores): {disturbed} of {total} cells had more than {DISTURBED_CORES}.{shared}

Under load Node serves a handler that gives the event loop one turn before answering (awaiting
I/O, the thread pool or `setImmediate`) for less CPU than one that answers within the microtasks
of the request: the requests read in one poll are then answered together. jose's check yields (its
Ed25519 verification is a WebCrypto job on the thread pool); `withAuth` yields once before its
synchronous verification in core; the unprotected route never yields. So the time a route adds is
not the time its check takes alone (below).

The checks alone, outside Next.js (`bench/node/next_verify_cost.mjs`, on the server's CPU before
the server starts; CPU time of the process per call, median of {cost["rounds"]} alternating batches
of {cost["batch"]}):

| check | µs per call (median) | min-max |
|---|---|---|
{chr(10).join(cost_rows)}
"""
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
