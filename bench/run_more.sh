#!/usr/bin/env bash
# Access-token and session-refresh benchmarks: the Python and Node token benches, then the Python
# and Node session benches (one at a time, never concurrently), then
# bench/RESULTS-tokens-sessions.md from their JSON (bench/report_more.py). Expects both bindings
# built (`make build`) and PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on
# 127.0.0.1:6379, with pgbench and redis-benchmark on PATH. Takes about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
WORK=bench/.work
mkdir -p "$WORK"
rm -f "$WORK"/tokens-python.json "$WORK"/tokens-node.json "$WORK"/sessions-python.json "$WORK"/sessions-node.json
BENCH_CLK_TCK="$(getconf CLK_TCK)"
export BENCH_CLK_TCK PY

# The command recorded in the results: make exports MAKELEVEL to the recipes it runs.
if [[ -n "${MAKELEVEL:-}" ]]; then CMD="make bench"; else CMD="bash bench/run_more.sh"; fi

for tool in pgbench redis-benchmark psql redis-cli; do
  command -v "$tool" >/dev/null || { echo "run_more.sh: $tool not found" >&2; exit 1; }
done

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START="$(date +%s)"
"$PY" bench/python/bench_tokens.py --out "$WORK/tokens-python.json"
node bench/node/bench_tokens.mjs --out "$WORK/tokens-node.json"
"$PY" bench/python/bench_sessions.py --out "$WORK/sessions-python.json"
node bench/node/bench_sessions.mjs --out "$WORK/sessions-node.json"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/report_more.py --work "$WORK" --command "$CMD" \
  --load-before "$LOAD_BEFORE" --load-after "$LOAD_AFTER" \
  --wall-seconds "$(( $(date +%s) - START ))" --out bench/RESULTS-tokens-sessions.md
echo "wrote bench/RESULTS-tokens-sessions.md"
