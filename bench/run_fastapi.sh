#!/usr/bin/env bash
# FastAPI benchmark: requests/s of a polyauth-protected endpoint (bearer, cookie) against the same
# endpoint unprotected and protected by the PyJWT tutorial dependency, uvicorn on 127.0.0.1 driven
# by wrk (`apt-get install wrk`), then bench/RESULTS-fastapi.md (bench/report_fastapi.py). Expects
# the Python binding built (`make build-python`). Takes about 2 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
WORK=bench/.work
mkdir -p "$WORK"
rm -f "$WORK/fastapi.json"
if [[ -n "${MAKELEVEL:-}" ]]; then CMD="make bench"; else CMD="bash bench/run_fastapi.sh"; fi

"$PY" bench/python/bench_fastapi.py --out "$WORK/fastapi.json"
"$PY" bench/report_fastapi.py --json "$WORK/fastapi.json" --command "$CMD" --out bench/RESULTS-fastapi.md
echo "wrote bench/RESULTS-fastapi.md"
