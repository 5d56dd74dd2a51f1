#!/usr/bin/env bash
# bench_query.sh: gRPC query latency with 1M flows in the table and RX running (issue 4).
#
#   scripts/bench_query.sh [BUILD_DIR]     # default build; writes BUILD_DIR/bench-query/
#
# scripts/bench_query.py does the work (capture, probe, timing); this only finds the build.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
exec python3 scripts/bench_query.py --build "$build" "${@:2}"
