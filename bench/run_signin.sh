#!/usr/bin/env bash
# Sign-in benchmark: Python, then Node (never concurrently), then bench/RESULTS-signin.md
# (bench/report_signin.py). Expects both bindings built (`make build`) and PostgreSQL on
# 127.0.0.1:5432 (user postgres). Takes about 1.5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
WORK=bench/.work
mkdir -p "$WORK"
rm -f "$WORK/signin-python.json" "$WORK/signin-node.json"
if [[ -n "${MAKELEVEL:-}" ]]; then CMD="make bench"; else CMD="bash bench/run_signin.sh"; fi

"$PY" bench/python/bench_signin.py --out "$WORK/signin-python.json"
node bench/node/bench_signin.mjs --out "$WORK/signin-node.json"
"$PY" bench/report_signin.py --python "$WORK/signin-python.json" --node "$WORK/signin-node.json" \
  --command "$CMD" --out bench/RESULTS-signin.md
echo "wrote bench/RESULTS-signin.md"
