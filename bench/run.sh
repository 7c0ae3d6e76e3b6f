#!/usr/bin/env bash
# Password hashing and TOTP verify benchmarks: the Python benches, then the Node benches (never
# concurrently), then bench/RESULTS.md from their JSON (bench/report.py). Run through `make bench`, which builds both
# bindings first. Takes about 1 minute on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
WORK=bench/.work
mkdir -p "$WORK"
rm -f "$WORK/python.json" "$WORK/node.json" "$WORK/totp_python.json" "$WORK/totp_node.json"
BENCH_CLK_TCK="$(getconf CLK_TCK)"
export BENCH_CLK_TCK

# The bindings are benchmarked as published: rebuilt here with the cargo `dist` profile (fat LTO,
# one codegen unit; `make dist`), installed into $PY's venv and bindings-node/ as `make build`
# does. BENCH_PROFILE=release benchmarks the development build instead; RESULTS.md names the
# profile. (`make build` afterwards puts the release build back.)
BENCH_PROFILE="${BENCH_PROFILE:-dist}"
export BENCH_PROFILE
VENV_BIN="$(dirname "$PY")"
if [[ "$BENCH_PROFILE" == release ]]; then
  "$VENV_BIN/maturin" develop --release --quiet
else
  "$VENV_BIN/maturin" develop --profile "$BENCH_PROFILE" --quiet
fi
npx napi build --platform --profile "$BENCH_PROFILE" --manifest-path bindings-node/Cargo.toml \
  --package-json-path package.json --output-dir bindings-node --js native.js --dts native.d.ts
npx tsc -p bindings-node/tsconfig.json

# The command recorded in RESULTS.md: make exports MAKELEVEL to the recipes it runs.
if [[ -n "${MAKELEVEL:-}" ]]; then CMD="make bench"; else CMD="bash bench/run.sh"; fi

# The machine may be shared: each bench waits for a quiet machine before every phase and records
# the CPU other processes used, which RESULTS.md reports.
"$PY" bench/python/bench_password.py --out "$WORK/python.json"
node bench/node/bench_password.mjs --out "$WORK/node.json"
"$PY" bench/python/bench_totp.py --out "$WORK/totp_python.json"
node bench/node/bench_totp.mjs --out "$WORK/totp_node.json"
"$PY" bench/report.py --python "$WORK/python.json" --node "$WORK/node.json" --work "$WORK" \
  --command "$CMD" --out bench/RESULTS.md
echo "wrote bench/RESULTS.md"
