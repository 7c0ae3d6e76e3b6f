"""Password hashing benchmark, Python side: polyauth vs argon2-cffi (run by bench/run.sh).

Writes raw samples as JSON (``--out``); bench/report.py turns them into bench/RESULTS.md. Three parts:

* latency: one ``hash`` / ``verify`` at a time, the libraries interleaved round-robin (the order
  flips every round) so that machine noise hits both alike;
* 2-thread scaling: hashes/s with 2 pool threads calling the sync ``hash`` vs 1 thread;
* event-loop stall: the longest gap of a 1 ms asyncio ticker while 8 hashes run concurrently.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import threading
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import argon2

import polyauth

PARAMS_FILE = Path(__file__).resolve().parent.parent / "params.json"
TICK_S = 0.001
QUIET_CORES = 0.3  # before each phase, wait for other processes to use less than this...
QUIET_MAX_WAIT_S = 15.0  # ...but not longer than this (RESULTS.md reports the load either way)


@dataclass(frozen=True)
class Lib:
    name: str
    hash: Callable[[str], str]
    verify: Callable[[str, str], bool]


def load_params() -> dict[str, Any]:
    params: dict[str, Any] = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))
    for pw in params["passwords"]:
        # polyauth NFKC-normalises, the peers hash the raw UTF-8: keep inputs where both are the same bytes.
        assert unicodedata.normalize("NFKC", pw) == pw, f"password not NFKC-stable: {pw!r}"
    return params


def make_libs(p: dict[str, Any]) -> list[Lib]:
    pa = polyauth.PasswordHasher(
        time_cost=p["time_cost"], memory_kib=p["memory_kib"], parallelism=p["parallelism"]
    )
    cffi = argon2.PasswordHasher(
        time_cost=p["time_cost"],
        memory_cost=p["memory_kib"],
        parallelism=p["parallelism"],
        hash_len=p["tag_len"],
        salt_len=p["salt_len"],
        type=argon2.Type.ID,
    )

    def cffi_verify(phc: str, pw: str) -> bool:
        try:
            return cffi.verify(phc, pw)
        except argon2.exceptions.VerifyMismatchError:
            return False

    return [Lib("polyauth", pa.hash, pa.verify), Lib("argon2-cffi", cffi.hash, cffi_verify)]


def b64decode_phc(s: str) -> bytes:
    return base64.b64decode(s + "=" * (-len(s) % 4))


def check_phc(lib: str, phc: str, p: dict[str, Any]) -> None:
    """Fails unless ``phc`` is argon2id v=19 with exactly the benchmark's parameters and sizes."""
    parts = phc.split("$")
    want = [
        "",
        p["algorithm"],
        f"v={p['version']}",
        f"m={p['memory_kib']},t={p['time_cost']},p={p['parallelism']}",
    ]
    ok = (
        len(parts) == 6
        and parts[:4] == want
        and len(b64decode_phc(parts[4])) == p["salt_len"]
        and len(b64decode_phc(parts[5])) == p["tag_len"]
    )
    if not ok:
        raise SystemExit(f"{lib} produced a hash with other parameters than the benchmark's: {phc}")


class PhaseLoad:
    """CPU used by *other* processes during a phase: machine-wide busy time (/proc/stat) minus ours.

    The benchmark shares a 2-core machine; this tells RESULTS.md whether a phase was disturbed.
    """

    def __init__(self, phase: str, into: list[dict[str, Any]]) -> None:
        self.phase, self.into = phase, into

    @staticmethod
    def _stat() -> tuple[float, float]:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        except OSError:
            return float("nan"), float("nan")
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        tck = os.sysconf("SC_CLK_TCK")
        return (user + nice + system + irq + softirq) / tck, steal / tck

    def wait_quiet(self, max_s: float = QUIET_MAX_WAIT_S) -> float:
        """Waits (up to ``max_s``) until other processes use < QUIET_CORES over 0.5 s; returns the wait."""
        t0 = time.perf_counter()
        while True:
            busy0, _ = self._stat()
            time.sleep(0.5)  # this process is idle meanwhile: all busy time is someone else's
            busy, _ = self._stat()
            waited = time.perf_counter() - t0
            if (busy - busy0) / 0.5 < QUIET_CORES or waited >= max_s or busy != busy:  # nan: no /proc
                return waited

    def __enter__(self) -> PhaseLoad:
        self.waited_s = self.wait_quiet()
        self.busy0, self.steal0 = self._stat()
        self.own0, self.wall0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        busy, steal = self._stat()
        wall = time.perf_counter() - self.wall0
        own = time.process_time() - self.own0
        self.into.append(
            {
                "phase": self.phase,
                "waited_for_quiet_s": self.waited_s,
                "wall_s": wall,
                "own_cores": own / wall,
                "other_cores": max(0.0, (busy - self.busy0) - own) / wall,
                "steal_cores": (steal - self.steal0) / wall,
            }
        )


def log(msg: str) -> None:
    print(f"[bench python] {msg}", file=sys.stderr, flush=True)


def bench_latency(libs: Sequence[Lib], p: dict[str, Any], rounds: int, warmup: int) -> list[dict[str, Any]]:
    pws: list[str] = p["passwords"]
    for lib in libs:
        for i in range(warmup):
            phc = lib.hash(pws[i % len(pws)])
            check_phc(lib.name, phc, p)
            if not lib.verify(phc, pws[i % len(pws)]):
                raise SystemExit(f"{lib.name}: verify of its own hash returned False")
        if lib.verify(phc, "definitely not the password"):
            raise SystemExit(f"{lib.name}: verify accepted a wrong password")
    samples: dict[tuple[str, str], list[float]] = {
        (lib.name, op): [] for lib in libs for op in ("hash", "verify")
    }
    gc.collect()
    for r in range(rounds):
        pw = pws[r % len(pws)]
        order = list(libs) if r % 2 == 0 else list(reversed(libs))
        hashes: dict[str, str] = {}
        for lib in order:
            t0 = time.perf_counter_ns()
            phc = lib.hash(pw)
            samples[(lib.name, "hash")].append((time.perf_counter_ns() - t0) / 1e6)
            hashes[lib.name] = phc
        for lib in order:
            t0 = time.perf_counter_ns()
            ok = lib.verify(hashes[lib.name], pw)
            samples[(lib.name, "verify")].append((time.perf_counter_ns() - t0) / 1e6)
            if ok is not True:
                raise SystemExit(f"{lib.name}: verify of its own hash returned {ok!r}")
        for name, phc in hashes.items():
            check_phc(name, phc, p)
    return [{"lib": lib, "api": "sync", "op": op, "samples_ms": xs} for (lib, op), xs in samples.items()]


def run_on_pool(pool: ThreadPoolExecutor, lib: Lib, pws: Sequence[str], threads: int, total: int) -> float:
    """Wall time (s) of ``total`` sync hashes split into ``threads`` tasks on the (warm) 2-thread pool."""
    per = total // threads

    def task(k: int) -> None:
        for j in range(per):
            lib.hash(pws[(k * per + j) % len(pws)])

    t0 = time.perf_counter()
    futures = [pool.submit(task, k) for k in range(threads)]
    for fut in futures:
        fut.result()
    return time.perf_counter() - t0


def bench_scaling(libs: Sequence[Lib], p: dict[str, Any], trials: int, total: int) -> list[dict[str, Any]]:
    pws: list[str] = p["passwords"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        # Warm-up: both pool threads hash once with every library (thread start, first-touch memory).
        barrier = threading.Barrier(2)

        def warm() -> None:
            barrier.wait()
            for lib in libs:
                lib.hash(pws[0])

        for fut in [pool.submit(warm) for _ in range(2)]:
            fut.result()
        out: list[dict[str, Any]] = []
        for trial in range(trials):
            order = list(libs) if trial % 2 == 0 else list(reversed(libs))
            for lib in order:
                for threads in (1, 2) if trial % 2 == 0 else (2, 1):
                    wall = run_on_pool(pool, lib, pws, threads, total)
                    out.append(
                        {"lib": lib.name, "threads": threads, "hashes": total, "wall_s": wall, "trial": trial}
                    )
    return out


BURN_BUF = bytes(256 * 1024)  # fits in L2: the control needs CPU, almost no memory bandwidth


class Burn:
    """CPU-burn control without argon2: SHA-256 over an L2-resident buffer, about ``target_ms`` per job.

    ``hashlib`` releases the GIL while it hashes 256 KiB. (PBKDF2 is not used: OpenSSL 3 takes shared
    locks on every HMAC iteration and barely scales over 2 threads.)
    """

    def __init__(self, target_ms: float) -> None:
        n = 50
        t0 = time.perf_counter()
        self._run(n)
        per_update_ms = (time.perf_counter() - t0) * 1e3 / n
        self.updates = max(1, round(target_ms / per_update_ms))

    @staticmethod
    def _run(updates: int) -> str:
        h = hashlib.sha256()
        for _ in range(updates):
            h.update(BURN_BUF)
        return h.hexdigest()

    def __call__(self, _password: str) -> str:
        return self._run(self.updates)


async def measure_stall(run_jobs: Callable[[], Awaitable[object]]) -> dict[str, float]:
    """Longest ticker oversleep (ms beyond the 1 ms it asked for) while ``run_jobs`` runs."""
    ticks: list[tuple[float, float]] = []  # (asked to sleep at, woke at)
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(TICK_S)
            ticks.append((t0, time.perf_counter()))

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # ticker is running steadily before the jobs start
    begin = time.perf_counter()
    await run_jobs()
    end = time.perf_counter()
    await asyncio.sleep(0.005)  # let the tick that straddles the end wake up and be recorded
    stop.set()
    await task
    window = [(b - a) - TICK_S for a, b in ticks if a < end and b > begin]
    return {"max_stall_ms": max(window) * 1e3, "ticks": len(window), "wall_ms": (end - begin) * 1e3}


async def measure_idle() -> dict[str, float]:
    async def idle() -> None:
        await asyncio.sleep(0.1)

    return await measure_stall(idle)


async def bench_stall(p: dict[str, Any], trials: int, jobs: int, burn: Burn) -> list[dict[str, Any]]:
    pa = polyauth.PasswordHasher(
        time_cost=p["time_cost"], memory_kib=p["memory_kib"], parallelism=p["parallelism"]
    )
    cffi = argon2.PasswordHasher(
        time_cost=p["time_cost"],
        memory_cost=p["memory_kib"],
        parallelism=p["parallelism"],
        hash_len=p["tag_len"],
        salt_len=p["salt_len"],
        type=argon2.Type.ID,
    )
    pws: list[str] = [p["passwords"][i % len(p["passwords"])] for i in range(jobs)]

    def check_all(lib: str, hashes: Sequence[str]) -> None:
        assert len(hashes) == jobs
        for h in hashes:
            check_phc(lib, h, p)

    async def pa_async() -> None:
        check_all("polyauth", await asyncio.gather(*(pa.hash_async(pw) for pw in pws)))

    # The peers get a thread pool of the same size as polyauth's (one worker per core).
    workers = os.cpu_count() or 1
    pool = ThreadPoolExecutor(max_workers=workers)
    loop = asyncio.get_running_loop()

    async def cffi_pool() -> None:
        check_all(
            "argon2-cffi", await asyncio.gather(*(loop.run_in_executor(pool, cffi.hash, pw) for pw in pws))
        )

    async def burn_pool() -> None:
        # Control: the same number of CPU-bound jobs on the same pool, without any argon2 library.
        await asyncio.gather(*(loop.run_in_executor(pool, burn, pw) for pw in pws))

    async def pa_sync_in_coroutine() -> None:
        async def one(pw: str) -> str:
            return pa.hash(pw)  # blocks the event loop on purpose: the contrast case

        check_all("polyauth", await asyncio.gather(*(one(pw) for pw in pws)))

    variants: list[tuple[str, str, Callable[[], Awaitable[None]]]] = [
        ("polyauth", "hash_async (bounded pool)", pa_async),
        ("argon2-cffi", f"hash via run_in_executor, ThreadPoolExecutor({workers})", cffi_pool),
        (
            "control",
            f"SHA-256 burn via run_in_executor, ThreadPoolExecutor({workers}), no argon2",
            burn_pool,
        ),
        ("polyauth", "sync hash called in the coroutine", pa_sync_in_coroutine),
    ]
    await pa_async()  # warm-up: starts polyauth's pool and the default executor
    await cffi_pool()
    await burn_pool()
    out: list[dict[str, Any]] = []
    for trial in range(trials):
        idle = await measure_idle()
        out.append({"lib": "-", "variant": "idle (no hashing)", "trial": trial, **idle})
        for lib, variant, fn in variants:
            out.append({"lib": lib, "variant": variant, "trial": trial, **(await measure_stall(fn))})
    pool.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=80, help="interleaved latency rounds")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--scaling-trials", type=int, default=6)
    ap.add_argument("--scaling-hashes", type=int, default=16, help="hashes per scaling run (even)")
    ap.add_argument("--stall-trials", type=int, default=8)
    ap.add_argument("--stall-jobs", type=int, default=8)
    args = ap.parse_args()

    p = load_params()
    libs = make_libs(p)
    started = time.time()
    load_before = (
        " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else None
    )

    load: list[dict[str, Any]] = []
    log(f"latency: {args.warmup} warm-up + {args.rounds} interleaved rounds")
    with PhaseLoad("latency", load):
        latency = bench_latency(libs, p, args.rounds, args.warmup)
    # The CPU-burn controls take about as long per job as one polyauth hash.
    burn_ms = statistics.median(
        next(r["samples_ms"] for r in latency if (r["lib"], r["op"]) == ("polyauth", "hash"))
    )
    burn = Burn(burn_ms)
    control = Lib("control: SHA-256 burn, no argon2", burn, lambda _h, _pw: True)
    log(f"2-thread scaling: {args.scaling_trials} trials x {args.scaling_hashes} hashes")
    with PhaseLoad("2-thread scaling", load):
        scaling = bench_scaling([*libs, control], p, args.scaling_trials, args.scaling_hashes)
    log(f"event-loop stall: {args.stall_trials} trials x {args.stall_jobs} concurrent hashes")
    with PhaseLoad("event-loop stall", load):
        stall = asyncio.run(bench_stall(p, args.stall_trials, args.stall_jobs, burn))

    result = {
        "language": "python",
        "runtime": f"{platform.python_implementation()} {platform.python_version()}",
        "versions": {
            "polyauth": polyauth.__version__,
            "argon2-cffi": metadata.version("argon2-cffi"),
            "argon2-cffi-bindings": metadata.version("argon2-cffi-bindings"),
        },
        "params": {k: v for k, v in p.items() if k != "comment"},
        "engine": polyauth.PasswordHasher.engine_info(),
        "build_profile": os.environ.get("BENCH_PROFILE", "unknown"),
        "config": {
            **{k: v for k, v in vars(args).items() if k != "out"},
            "control_sha256_updates_of_256_KiB": burn.updates,
        },
        "cpu_count": os.cpu_count(),
        "started_unix": started,
        "elapsed_s": time.time() - started,
        "loadavg_before": load_before,
        "loadavg_after": " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if load_before is not None
        else None,
        "latency": latency,
        "scaling": scaling,
        "stall": stall,
        "load": load,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    log(f"done in {result['elapsed_s']:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
