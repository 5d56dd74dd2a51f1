#!/usr/bin/env bash
# bench.sh: build, then run the benchmarks and print their figures.
#
#   scripts/bench.sh                 # all benchmarks
#   scripts/bench.sh worker          # only worker_bench (or: parser, defrag, memory,
#                                    # expiry, sflow, bpf, json, pcap)
#
# Rates are computed on CPU time of the benchmark thread (Google Benchmark's
# default), so a loaded machine lowers them less than wall time would; run on
# an idle machine for figures worth writing down (BENCHMARKS.md says how).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
which="${1:-all}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$which" == all || "$which" == parser ]]; then
  ./build/tests/bench/parser_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == worker ]]; then
  ./build/tests/bench/worker_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == defrag ]]; then
  ./build/tests/bench/defrag_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == memory ]]; then
  ./build/tests/bench/memory_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == expiry ]]; then
  ./build/tests/bench/expiry_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == json ]]; then
  ./build/tests/bench/json_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == sflow ]]; then
  ./build/tests/bench/sflow_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == bpf ]]; then
  ./build/tests/bench/bpf_bench --benchmark_counters_tabular=true
fi
if [[ "$which" == all || "$which" == pcap ]]; then
  scripts/bench_pcap.sh
fi
