#!/usr/bin/env bash
# bench_offline.sh: the offline path (issue 13 item 1) on a 10,000,000-frame
# capture of 1,000,000 UDP flows (gen_flows_pcap.py --flows 1000000 --replies
# --rounds 10: every flow in the table at once, 60-byte frames, 760 MB), read
# from the page cache by
#   - a bare libpcap loop (build/tests/bench/pcap_loop: pcap_next_ex, one byte
#     of each frame read),
#   - skyprobe with the mapped reader (the default),
#   - skyprobe through net_pcap (--pcap-reader net_pcap),
# each the whole process, wall time, alternated PAIRS times.
#
#   scripts/bench_offline.sh [PAIRS]      # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-3}"
dir=build/bench-offline
mkdir -p "$dir"
big="$dir/flows1m-10m.pcap"
[[ -f "$big" ]] || python3 scripts/gen_flows_pcap.py "$big" --flows 1000000 --replies --rounds 10
cat "$big" > /dev/null
probe=(./build/src/app/skyprobe --pcap "$big" --max-flows 1100000 --quiet)
run() {  # NAME CMD...: prints NAME and the wall seconds of CMD
  local name="$1"
  shift
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  python3 -c "print('%-10s %.3f s' % ('$name', $end - $start))"
}
for _ in $(seq "$pairs"); do
  run libpcap ./build/tests/bench/pcap_loop "$big"
  run mapped "${probe[@]}"
  run net_pcap "${probe[@]}" --pcap-reader net_pcap
done
