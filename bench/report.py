"""Assembles bench/RESULTS.md from the raw JSON written by the Python and Node password and TOTP
benchmarks.

All statistics are computed here from the raw samples; nothing is rounded before the final formatting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import re
import statistics
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = Sequence[str]

# Targets of the "password hashing benchmark" issue.
PY_LATENCY_TARGET = 0.8  # polyauth / argon2-cffi, hash and verify
NODE_LATENCY_TARGET = 1.0  # polyauth / @node-rs/argon2, hash and verify
SCALING_TARGET = 1.8  # hashes/s with 2 threads / with 1 thread (Python, sync hash)
STALL_TARGET_MS = 5.0  # longest event-loop stall with 8 concurrent async hashes
DISTURBED_CORES = 0.25  # CPU used by other processes above which a phase is flagged as disturbed


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpuinfo() -> tuple[str, str]:
    """The CPU model (with family/model numbers) and the SIMD flags the argon2 kernels choose from."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown", "unknown"
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    fam = re.search(r"^cpu family\s*:\s*(\d+)$", text, re.M)
    mod = re.search(r"^model\s*:\s*(\d+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    have = set(flags.group(1).split()) if flags else set()
    name = m.group(1).strip() if m else "unknown"
    if fam and mod:
        name += f", family {fam.group(1)} model {mod.group(1)}"
    simd = " ".join(f for f in ("sse2", "ssse3", "sse4_1", "avx2", "avx512f", "avx512vl") if f in have)
    return name, simd or "none"


PROFILE_NOTE = {
    "dist": "fat LTO, one codegen unit: what `make dist` publishes",
    "release": "thin local LTO, 16 codegen units: what `make build` makes",
}


def profiles(py: dict[str, Any], nd: dict[str, Any]) -> str:
    """The cargo profile both bindings were built with (bench/run.sh, BENCH_PROFILE)."""
    a, b = py.get("build_profile", "unknown"), nd.get("build_profile", "unknown")
    return a if a == b else f"{a}` (Python) / `{b}` (Node)"


def engines(py: dict[str, Any], nd: dict[str, Any]) -> str:
    """The argon2 engine and kernel each binding reported (PasswordHasher.engine_info / engineInfo)."""
    out = []
    for lang, e in (("Python", py.get("engine")), ("Node", nd.get("engine"))):
        if not e:
            out.append(f"{lang}: not reported")
            continue
        features = e.get("cpu_features", e.get("cpuFeatures", ""))
        out.append(f"{lang}: {e['engine']}, `{e['backend']}` kernel (CPU features detected: {features})")
    return "; ".join(out)


def quartiles(xs: Sequence[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, _, q3 = statistics.quantiles(xs, n=4)
    return q1, statistics.median(xs), q3


def latency(data: dict[str, Any], lib: str, api: str, op: str) -> list[float]:
    for rec in data["latency"]:
        if (rec["lib"], rec["api"], rec["op"]) == (lib, api, op):
            xs: list[float] = rec["samples_ms"]
            return xs
    raise KeyError((lib, api, op))


def fmt_ms(xs: Sequence[float]) -> str:
    q1, med, q3 = quartiles(xs)
    return f"{med:.2f} ({q1:.2f} to {q3:.2f})"


def verdict(ok: bool, ratio_text: str) -> str:
    return "met" if ok else f"**missed** ({ratio_text})"


def table(header: Row, rows: Iterable[Row]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


class Report:
    def __init__(self) -> None:
        # (what, measured, target, met, note)
        self.summary: list[tuple[str, str, str, bool | None, str]] = []

    def target(self, what: str, measured: str, target: str, ok: bool | None, note: str = "") -> None:
        self.summary.append((what, measured, target, ok, note))


def phase_note(data: dict[str, Any], phase: str) -> str:
    """Flags a result whose phase other processes disturbed (see load_section)."""
    for ph in data.get("load", []):
        if ph["phase"] == phase and ph["other_cores"] > DISTURBED_CORES:
            return f"disturbed: other processes used {ph['other_cores']:.2f} cores"
    return ""


def latency_section(
    rep: Report,
    data: dict[str, Any],
    api: str,
    peers: Sequence[tuple[str, float | None]],
    title: str,
) -> list[str]:
    """Median ms (p25 to p75) per op; ratio polyauth/peer; a target for peers given one."""
    header = ["operation", "polyauth ms"]
    for peer, _ in peers:
        header += [f"{peer} ms", f"ratio polyauth/{peer}"]
        if _ is not None:
            header += ["target", "result"]
    rows: list[Row] = []
    for op in ("hash", "verify"):
        own = latency(data, "polyauth", api, op)
        row = [f"`{op}`", fmt_ms(own)]
        for peer, tgt in peers:
            other = latency(data, peer, api, op)
            ratio = statistics.median(own) / statistics.median(other)
            row += [fmt_ms(other), f"{ratio:.3f}x"]
            if tgt is not None:
                ok = ratio <= tgt
                row += [f"<= {tgt:.1f}x", verdict(ok, f"{ratio:.3f}x")]
                rep.target(
                    f"{title}: `{op}` vs {peer}",
                    f"{ratio:.3f}x",
                    f"<= {tgt:.1f}x",
                    ok,
                    phase_note(data, "latency"),
                )
            else:
                rep.target(
                    f"{title}: `{op}` vs {peer} (information)",
                    f"{ratio:.3f}x",
                    "-",
                    None,
                    phase_note(data, "latency"),
                )
        rows.append(row)
    n = len(latency(data, "polyauth", api, "hash"))
    return [
        f"### {title}",
        "",
        f"Median of {n} interleaved samples per cell, in ms (p25 to p75 in parentheses).",
        "",
        *table(header, rows),
    ]


def scaling_section(rep: Report, data: dict[str, Any]) -> list[str]:
    rows: list[Row] = []
    libs: list[str] = []
    for r in data["scaling"]:
        if r["lib"] not in libs:
            libs.append(r["lib"])
    for lib in libs:
        hps = {
            t: [r["hashes"] / r["wall_s"] for r in data["scaling"] if r["lib"] == lib and r["threads"] == t]
            for t in (1, 2)
        }
        one, two = statistics.median(hps[1]), statistics.median(hps[2])
        scale = two / one
        if lib == "polyauth":
            ok = scale >= SCALING_TARGET
            tgt, res = f">= {SCALING_TARGET:.1f}x", verdict(ok, f"{scale:.3f}x")
            rep.target(
                "Python 2-thread throughput scaling (polyauth)",
                f"{scale:.3f}x",
                tgt,
                ok,
                phase_note(data, "2-thread scaling"),
            )
        elif lib.startswith("control"):
            tgt, res = "-", "control: the machine's scaling for CPU-bound work"
        else:
            tgt, res = "-", "information"
            rep.target(
                f"Python 2-thread throughput scaling ({lib}, information)",
                f"{scale:.3f}x",
                "-",
                None,
                phase_note(data, "2-thread scaling"),
            )
        rows.append([lib, f"{one:.1f}", f"{two:.1f}", f"{scale:.3f}x", tgt, res])
    cfg = data["config"]
    return [
        "### Python: 2-thread throughput (sync `hash` from threads)",
        "",
        f"Each run hashes {cfg['scaling_hashes']} passwords on 1 thread, or split over 2 threads started "
        f"together; median hashes/s over {cfg['scaling_trials']} runs per cell, libraries and thread "
        "counts alternated. The control job hashes an L2-resident 256 KiB buffer with SHA-256 (GIL "
        "released, no argon2) for about as long as one polyauth hash; it shows how far 2 threads scale on "
        "this machine for CPU-bound work that needs almost no memory, whereas each argon2 hash works "
        "through 19 MiB.",
        "",
        *table(["library", "1 thread hashes/s", "2 threads hashes/s", "scaling", "target", "result"], rows),
    ]


def stall_section(
    rep: Report,
    data: dict[str, Any],
    title: str,
    target_variant: tuple[str, str],
    contrast_variant: tuple[str, str],
    ticker: str,
    api: str,
) -> list[str]:
    """Stall per variant; also how many hashes effectively ran at once (from the latency medians)."""
    single_ms = {
        rec["lib"]: statistics.median(rec["samples_ms"])
        for rec in data["latency"]
        if rec["api"] == api and rec["op"] == "hash"
    }
    variants: list[tuple[str, str]] = []
    for r in data["stall"]:
        if (r["lib"], r["variant"]) not in variants:
            variants.append((r["lib"], r["variant"]))
    rows: list[Row] = []
    for lib, variant in variants:
        runs = [r for r in data["stall"] if (r["lib"], r["variant"]) == (lib, variant)]
        worst = max(r["max_stall_ms"] for r in runs)
        typical = statistics.median(r["max_stall_ms"] for r in runs)
        wall = statistics.median(r["wall_ms"] for r in runs)
        if (lib, variant) == target_variant:
            ok = worst < STALL_TARGET_MS
            tgt, res = f"< {STALL_TARGET_MS:.0f} ms", verdict(ok, f"{worst:.2f} ms")
            rep.target(
                f"{title}: longest stall, polyauth {variant}",
                f"{worst:.2f} ms",
                tgt,
                ok,
                phase_note(data, "event-loop stall"),
            )
        else:
            tgt = "-"
            if (lib, variant) == contrast_variant:
                res = "contrast (blocks the loop)"
            elif lib == "-":
                res = "noise floor"
            elif lib == "control":
                res = "control: CPU load alone"
            else:
                res = "information"
        jobs = data["config"]["stall_jobs"]
        conc = f"{jobs * single_ms[lib] / wall:.2f}" if lib in single_ms else "-"
        rows.append(
            [lib, variant, str(len(runs)), f"{worst:.2f}", f"{typical:.2f}", f"{wall:.1f}", conc, tgt, res]
        )
    jobs = data["config"]["stall_jobs"]
    return [
        f"### {title}: event-loop stall, {jobs} concurrent hashes",
        "",
        f"{ticker} The stall of a run is the longest gap between wake-ups minus the 1 ms asked for, over "
        f"the ticks that overlap the {jobs} hashes; *worst* is the largest over all runs and is what the "
        "target is checked against. *Effective concurrency* is "
        f"{jobs} x the library's median single `hash` time (latency table) / the median wall time of the "
        f"{jobs} hashes: about how many hashes ran at once.",
        "",
        *table(
            [
                "library",
                "variant",
                "runs",
                "worst stall ms",
                "median per-run stall ms",
                f"median wall ms for {jobs} hashes",
                "effective concurrency",
                "target",
                "result",
            ],
            rows,
        ),
    ]


def load_section(runs: Sequence[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """The per-phase CPU table, and warnings for phases that other processes disturbed."""
    rows: list[Row] = []
    warnings: list[str] = []
    for bench, data in runs:
        for ph in data.get("load", []):
            other = ph["other_cores"]
            rows.append(
                [
                    bench,
                    ph["phase"],
                    f"{ph.get('waited_for_quiet_s', 0.0):.1f}",
                    f"{ph['wall_s']:.1f}",
                    f"{ph['own_cores']:.2f}",
                    f"{other:.2f}",
                    f"{ph['steal_cores']:.2f}",
                ]
            )
            if other > DISTURBED_CORES:
                warnings.append(
                    f"> **Disturbed:** other processes used {other:.2f} cores on average during the "
                    f"{bench} {ph['phase']} phase; its numbers are less reliable than the others."
                )
    lines = [
        "## Machine load during the run",
        "",
        "Before each phase the bench waits (at most 15 s) until other processes use less than 0.3 cores. "
        "CPU cores in use on average per phase: this benchmark's own process, every other process "
        "(machine-wide busy time from /proc/stat minus ours) and hypervisor steal. A phase is flagged "
        f"as disturbed when other processes used more than {DISTURBED_CORES} cores.",
        "",
        *table(
            [
                "bench",
                "phase",
                "waited for quiet s",
                "wall s",
                "own cores",
                "other processes cores",
                "steal cores",
            ],
            rows,
        ),
    ]
    return lines, warnings


# Issue targets for TOTP verify of a valid current code (window 1): polyauth / peer.
TOTP_TARGETS = (("totp_python.json", "Python", "pyotp", 0.3), ("totp_node.json", "Node", "otplib", 0.5))


def totp_section(rep: Report, work: Path) -> list[str]:
    """TOTP verify against pyotp and otplib, from bench/{python,node}/bench_totp.* output."""
    rows = []
    for name, lang, peer, target in TOTP_TARGETS:
        path = work / name
        if not path.exists():
            raise SystemExit(f"{path} is missing: run bench/run.sh, which runs the TOTP benches")
        ns = json.loads(path.read_text(encoding="utf-8"))["ns_per_op"]
        ratio = ns["polyauth"] / ns[peer]
        rep.target(f"{lang}: TOTP `verify` vs {peer}", f"{ratio:.3f}x", f"<= {target}x", ratio <= target)
        ours, theirs = ns["polyauth"] / 1000, ns[peer] / 1000
        rows.append([lang, f"{ours:.2f}", f"{theirs:.2f} ({peer})", f"{ratio:.2f}x"])
    return [
        "## TOTP",
        "",
        "`verify` of a valid current code (SHA1, 6 digits, window 1), the same secret and clock for "
        "both libraries, interleaved batches after a warm-up, medians "
        "(`bench/python/bench_totp.py`, `bench/node/bench_totp.mjs`). `Mfa.verify` adds the store "
        "round trips that make a code single-use; their cost is the store's (see "
        "`RESULTS-tokens-sessions.md` for round trips per backend).",
        "",
        *table(["run", "polyauth µs", "peer µs", "ratio"], rows),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--python", type=Path, required=True)
    ap.add_argument("--node", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("bench/.work"), help="where the TOTP JSON is")
    ap.add_argument("--command", default="make bench")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    py: dict[str, Any] = json.loads(args.python.read_text(encoding="utf-8"))
    nd: dict[str, Any] = json.loads(args.node.read_text(encoding="utf-8"))
    if py["params"] != nd["params"]:
        raise SystemExit("the Python and Node benchmarks ran with different parameters")
    p = py["params"]
    model, simd = cpuinfo()
    profile = profiles(py, nd)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    rep = Report()
    py_latency = latency_section(rep, py, "sync", [("argon2-cffi", PY_LATENCY_TARGET)], "Python: latency")
    py_scaling = scaling_section(rep, py)
    py_stall = stall_section(
        rep,
        py,
        "Python (asyncio)",
        ("polyauth", "hash_async (bounded pool)"),
        ("polyauth", "sync hash called in the coroutine"),
        "A ticker coroutine loops on `await asyncio.sleep(0.001)` while `asyncio.gather` awaits the hashes.",
        "sync",
    )
    node_latency = latency_section(
        rep,
        nd,
        "async",
        [("@node-rs/argon2", NODE_LATENCY_TARGET), ("argon2", None)],
        "Node: latency, async API",
    )
    node_sync = latency_section(rep, nd, "sync", [("@node-rs/argon2", None)], "Node: latency, sync API")
    node_stall = stall_section(
        rep,
        nd,
        "Node",
        ("polyauth", "hash() (libuv pool)"),
        ("polyauth", "hashSync() in the async functions"),
        "A `setTimeout(tick, 1)` chain runs while `Promise.all` awaits the hashes.",
        "async",
    )
    body = [
        "## Python",
        "",
        *py_latency,
        "",
        *py_scaling,
        "",
        *py_stall,
        "",
        "## Node",
        "",
        *node_latency,
        "",
        *node_sync,
        "",
        *node_stall,
        "",
        *totp_section(rep, args.work),
    ]

    load_lines, warnings = load_section([("Python", py), ("Node", nd)])
    body += ["", *load_lines]
    lines = [
        "# Password hashing and TOTP benchmarks",
        "",
        "Generated by `bench/run.sh`; do not edit by hand.",
        "",
        f"- Command: `{args.command}`",
        f"- Date: {now.isoformat()}",
        f"- Machine: nproc = {sh('nproc')}, CPU: {model} (SIMD flags: {simd}), Linux {platform.release()}",
        f"- Load average (1/5/15 min) before → after: Python bench {py['loadavg_before']} → "
        f"{py['loadavg_after']}; Node bench {nd['loadavg_before']} → {nd['loadavg_after']}",
        f"- Runtimes: {py['runtime']}, {nd['runtime']} "
        f"(UV_THREADPOOL_SIZE {nd['config']['uv_threadpool_size']}); "
        f"polyauth built by bench/run.sh with the cargo `{profile}` profile "
        f"({PROFILE_NOTE.get(profile, 'as given')}) with {sh('rustc', '--version')}",
        f"- argon2 engine: {engines(py, nd)}",
        "- Versions: "
        + ", ".join(f"{k} {v}" for k, v in py["versions"].items())
        + " (Python); "
        + ", ".join(f"{k} {v}" for k, v in nd["versions"].items())
        + " (Node)",
        f"- Parameters, identical for every library: {p['algorithm']} v={p['version']}, "
        f"m={p['memory_kib']} KiB, t={p['time_cost']}, p={p['parallelism']}, {p['tag_len']}-byte tag, "
        f"{p['salt_len']}-byte salt (checked on every hash produced); the same {len(p['passwords'])} "
        "passwords (bench/params.json, all NFKC-stable so polyauth's normalisation hashes the same bytes).",
        f"- Duration: Python bench {py['elapsed_s']:.0f} s, Node bench {nd['elapsed_s']:.0f} s.",
        "",
        *(line for w in warnings for line in (w, "")),
        "## Targets",
        "",
        *table(
            ["target", "measured", "goal", "result", "note"],
            [
                (what, measured, goal, "information" if ok is None else verdict(ok, measured), note)
                for what, measured, goal, ok, note in rep.summary
            ],
        ),
        "",
        "Ratios are polyauth's median time divided by the peer's (below 1 = polyauth faster).",
        "",
        "## Method",
        "",
        f"- Latency: {py['config']['warmup']} warm-up operations per library and API first, then rounds of "
        "one `hash` per library followed by one `verify` per library (each library verifies the hash it "
        "just produced and the result must be true); the library order flips (Python) or rotates (Node) "
        "every round, and Node alternates async and sync APIs, so load changes hit every library alike. "
        f"Python {py['config']['rounds']} rounds, Node {nd['config']['rounds']} rounds. Python times the "
        "sync calls; Node times `await hash()` / `await verify()` (the targets) and the `*Sync` calls.",
        "- Times are wall-clock (`time.perf_counter_ns`, `performance.now`); nothing is discarded.",
        "- 2-thread scaling and event-loop stall are described in their sections. Each has a *control* "
        "row that runs CPU-bound work without any argon2 library in the same threads or pool, and the "
        "stall tables an *idle* row: they show what this machine does by itself (a stall near the "
        "control's is the scheduler's, not the library's).",
        "",
        *body,
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
