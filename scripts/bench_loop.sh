#!/usr/bin/env bash
# bench_loop.sh: the worker loop under events (BENCHMARKS.md, "Worker loop"):
# makes the captures (scripts/gen_flows_pcap.py) and runs
# build/tests/bench/loop_bench for every scenario, each beside the same run
# without the event, alternated (loop_bench.cc says what each scenario does).
#
#   scripts/bench_loop.sh [BUILD_DIR] [FLOWS] [SECONDS] [ROUNDS] [SCENARIOS...]
#   LOOP_BENCH_FIFO=1 scripts/bench_loop.sh ...   # the worker at SCHED_FIFO 1
#
# Defaults: build, 1000000 flows, 15 s windows, 2 rounds, every scenario
# (expiry update query-worst query-inshard query-all export flood).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
flows=${2:-1000000}
seconds=${3:-15}
rounds=${4:-2}
shift $(($# < 4 ? $# : 4))
scenarios=${*:-expiry update query-worst query-inshard query-all export flood}
out="$build/bench-loop"
mkdir -p "$out"
for spec in "load:$flows" "keep:1000"; do
  name=${spec%%:*} n=${spec##*:}
  if [ ! -f "$out/$name-$n.pcap" ]; then
    python3 scripts/gen_flows_pcap.py "$out/$name-$n.pcap.tmp" --flows "$n" >/dev/null
    mv "$out/$name-$n.pcap.tmp" "$out/$name-$n.pcap"
  fi
done
uptime
for sc in $scenarios; do
  "$build/tests/bench/loop_bench" --scenario "$sc" --load "$out/load-$flows.pcap" \
    --keep "$out/keep-1000.pcap" --seconds "$seconds" --rounds "$rounds" \
    --fifo "${LOOP_BENCH_FIFO:-0}"
done
uptime
