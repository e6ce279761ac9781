#!/usr/bin/env bash
# Soak test (not in CI): 30 minutes of mixed load against a release build, with the router's
# RSS, open fds and latencies sampled every 10 s. See bench/soak/README.md.
#
#   cargo build --release && bench/soak/run.sh
#   SOAK_WARMUP=30 SOAK_DURATION=150 bench/soak/run.sh     # a short look
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
JUNCTION=${JUNCTION:-$ROOT/target/release/junction}
[ -x "$JUNCTION" ] || { echo "no $JUNCTION: run cargo build --release first" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
OUT=${SOAK_OUT:-$HERE/out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
echo "==> output in $OUT" >&2
# The router on core 0, the load on core 1 (niced), as the benchmarks do.
exec taskset -c 1 nice -n 10 .venv/bin/python soak.py --junction "$JUNCTION" --out "$OUT" \
    --warmup "${SOAK_WARMUP:-120}" --duration "${SOAK_DURATION:-1800}" --router-cpu 0
