#!/usr/bin/env bash
# Next.js benchmark: requests/s of a route handler behind `withAuth` of polyauth/next (bearer,
# cookie) against the same handler unprotected and verifying with jose (`jwtVerify`, key imported
# once), `next start` on 127.0.0.1 driven by wrk (`apt-get install wrk`), then
# bench/RESULTS-next.md (bench/report_next.py). Expects the Node binding built (`make build-node`);
# installs bench/next-app's dependencies (Next.js, React, jose from the npm cache, and a fresh copy
# of this package, as `make example-next` does for examples/next). Takes about 3 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
WORK=bench/.work
mkdir -p "$WORK"
rm -f "$WORK/next.json"
if [[ -n "${MAKELEVEL:-}" ]]; then CMD="make bench"; else CMD="bash bench/run_next.sh"; fi

# install-links copies the package (bench/next-app/.npmrc); npm does not refresh a copy, so it goes.
rm -rf bench/next-app/node_modules/polyauth
(cd bench/next-app && npm install --no-audit --no-fund --loglevel=error)
node bench/node/bench_next.mjs --out "$WORK/next.json"
"$PY" bench/report_next.py --json "$WORK/next.json" --command "$CMD" --out bench/RESULTS-next.md
echo "wrote bench/RESULTS-next.md"
