#!/usr/bin/env bash
# bench_scale.sh: scaling with cores (issue 13 item 5). N RX workers at once,
# N = 1 .. the CPUs this machine has, each on a thread of its own with its own
# flow table and its own NIC-like in-memory frames (worker_bench
# BM_WorkerScale: 64-byte UDP frames of 1k or 1M conversations per worker, no
# control lcore, nothing else running in the process). Prints, per table
# size, the total and per-worker Mpps (wall time) and the per-worker rate as
# a fraction of the one-worker rate: 1.00 is linear in cores. The figures
# mean something only on CPUs nobody else uses: the load average at the start
# and the end is printed beside them.
#
#   scripts/bench_scale.sh [ROUNDS]       # default 3 (medians); release build in build/
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
bench=build/tests/bench/worker_bench
[[ -x "$bench" ]] || {
  echo "bench_scale: $bench is missing (meson setup build --buildtype=release && ninja -C build)" >&2
  exit 2
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "cpus: $(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  "$bench" --benchmark_filter='BM_WorkerScale/' --benchmark_format=json \
    > "$out/round$r.json" 2> /dev/null
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out"/round*.json << 'EOF'
import json, re, statistics, sys
runs = {}
for path in sys.argv[1:]:
    for b in json.load(open(path))["benchmarks"]:
        m = re.match(r"BM_WorkerScale/(\d+)/.*threads:(\d+)", b["name"])
        if m and "error_occurred" not in b:
            key = (int(m.group(1)), int(m.group(2)))
            runs.setdefault(key, []).append((b["Mpps"], b["Mpps_per_worker"]))
print("%-10s %8s %12s %16s %22s" % ("flows/wkr", "workers", "total Mpps", "per worker Mpps", "per worker / 1 worker"))
for flows in sorted({f for f, _ in runs}):
    one = statistics.median(p for _, p in runs[(flows, 1)])
    for (f, n), v in sorted(runs.items()):
        if f != flows:
            continue
        total = statistics.median(t for t, _ in v)
        per = statistics.median(p for _, p in v)
        print("%-10d %8d %12.2f %16.2f %22.2f" % (f, n, total, per, per / one))
EOF
