"""TOTP verify benchmark, Python side: polyauth ``Totp.verify`` vs ``pyotp.TOTP.verify``.

Both verify a valid current code for the same 160-bit SHA1 secret at the same fixed time with a
window of one step either side (polyauth ``window=1``, pyotp ``valid_window=1``). The libraries run
in batches, interleaved (the starting library alternates every round) after a warm-up; the result
is the median per-operation time over the batches. Every result is checked before timing.

Writes a JSON object (default ``bench/.work/totp_python.json``) and prints a short summary.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pyotp

import polyauth

TARGET_RATIO = 0.3
NOW = 1_700_000_000
ROOT = Path(__file__).resolve().parent.parent


def batch_ns(fn: Callable[[], object], n: int) -> float:
    """Per-call nanoseconds of ``n`` calls of ``fn``."""
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / ".work" / "totp_python.json")
    ap.add_argument("--rounds", type=int, default=101, help="interleaved batches per library")
    ap.add_argument("--batch", type=int, default=2000, help="verifications per batch")
    args = ap.parse_args()

    totp = polyauth.Totp(window=1)
    secret = totp.generate_secret()
    code = totp.code(secret, now=NOW)
    peer = pyotp.TOTP(secret)
    assert peer.at(NOW) == code
    # Same verdicts before timing: valid now, a wrong code refused by both.
    assert totp.verify(secret, code, now=NOW) == NOW // 30
    assert peer.verify(code, for_time=NOW, valid_window=1) is True
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert (totp.verify(secret, wrong, now=NOW) is not None) == peer.verify(
        wrong, for_time=NOW, valid_window=1
    )

    def ours() -> object:
        return totp.verify(secret, code, now=NOW)

    def theirs() -> object:
        return peer.verify(code, for_time=NOW, valid_window=1)

    libs: dict[str, Callable[[], object]] = {"polyauth": ours, "pyotp": theirs}
    for fn in libs.values():  # warm-up
        batch_ns(fn, args.batch)
    samples: dict[str, list[float]] = {name: [] for name in libs}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        names = list(libs)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                samples[name].append(batch_ns(libs[name], args.batch))
    finally:
        if gc_was:
            gc.enable()

    med = {name: statistics.median(v) for name, v in samples.items()}
    ratio = med["polyauth"] / med["pyotp"]
    result = {
        "benchmark": "totp_verify_current_code",
        "algorithm": "SHA1",
        "digits": 6,
        "window": 1,
        "rounds": args.rounds,
        "batch": args.batch,
        "ns_per_op": {name: round(v, 1) for name, v in med.items()},
        "ns_per_op_min": {name: round(min(v), 1) for name, v in samples.items()},
        "ratio": round(ratio, 4),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "versions": {"polyauth": polyauth.__version__, "pyotp": metadata.version("pyotp")},
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(
        f"TOTP verify (SHA1, 6 digits, window 1): polyauth {med['polyauth']:.0f} ns/op, "
        f"pyotp {med['pyotp']:.0f} ns/op, ratio {ratio:.3f}x ({verdict} target <= {TARGET_RATIO}x)"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
