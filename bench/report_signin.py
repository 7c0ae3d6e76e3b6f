"""Writes bench/RESULTS-signin.md from the JSON of bench/python/bench_signin.py and
bench/node/bench_signin.mjs (run together by bench/run_signin.sh)."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from report_more import cpu_model  # one CPU description for every bench report

TARGET_RATIO = 0.9
TARGET_TIMING = 0.05
HEADER = (
    "| runtime | store | raw verify/s | sign-ins/s | flow / raw | unknown p50 ms "
    "| known, wrong password p50 ms | unknown vs known-wrong | known, right password p50 ms |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True)
    ap.add_argument("--node", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    runs = [json.loads(Path(p).read_text()) for p in (args.python, args.node)]
    rows = []
    verdicts = []
    for run in runs:
        for backend, r in run["backends"].items():
            raw = statistics.median(r["raw_verify_per_s"])
            flow = statistics.median(r["signin_per_s"])
            lat = {k: statistics.median(v) * 1000 for k, v in r["latency_s"].items()}
            ratio = flow / raw
            timing = lat["unknown"] / lat["known_wrong"] - 1
            verdicts.append(ratio >= TARGET_RATIO and abs(timing) <= TARGET_TIMING)
            rows.append(
                f"| {run['runtime']} | {backend} | {raw:.1f} | {flow:.1f} | **{ratio:.3f}x** | "
                f"{lat['unknown']:.2f} | {lat['known_wrong']:.2f} | **{timing * 100:+.1f} %** | "
                f"{lat['known_right']:.2f} |"
            )
    h = runs[0]["hasher"]
    text = f"""# Sign-in benchmark

Command: `{args.command}` (bench/run_signin.sh), {time.strftime("%Y-%m-%d")}, on {cpu_model()}
({runs[0]["callers"]} cores). Hasher: argon2id m={h["m_kib"]} KiB, t={h["t"]}, p={h["p"]} (the default).

- **Flow cost**: `SignIn.password` with the right password (normalised lookup, throttle
  reservation and reset, argon2id verification, a new session with its signed access token)
  against the raw `PasswordHasher` verification of the same hash, {runs[0]["callers"]} concurrent
  callers, alternating 3-second cells, medians of 3. Target: sign-ins/s >= {TARGET_RATIO}x raw
  verifications/s.
- **Enumeration timing**: one caller, median over 40 shuffled rounds of an unknown login (dummy
  verification) against a known login with a wrong password, the two answers an attacker can
  compare (both `invalid_credentials`). Target: within {TARGET_TIMING * 100:.0f} %. The right
  password is shown for reference: it also starts a session, which is work the failures do not
  do, and its answer differs anyway.

{HEADER}
{chr(10).join(rows)}

Targets met in every row: **{"yes" if all(verdicts) else "no"}**.
"""
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
