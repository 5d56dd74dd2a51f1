#!/usr/bin/env bash
# bench_pcap.sh: the pcap path: skyprobe's replay (the mapped reader, the
# default) vs a bare libpcap loop.
#
#   scripts/bench_pcap.sh [REPEAT]     # default 100 copies of the 100k-packet capture
#
# Both read the same >= 10M-packet file from the page cache (read once
# before timing). skyprobe's rate is packets / wall time of the whole run,
# EAL start-up and the final flush included.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
repeat="${1:-100}"
dir=build/bench-pcap
mkdir -p "$dir"
[[ -f "$dir/synthetic.pcap" ]] || python3 tests/data/gen_pcap.py synthetic "$dir/synthetic.pcap"
big="$dir/big-x$repeat.pcap"
[[ -f "$big" ]] || python3 scripts/pcap_repeat.py "$dir/synthetic.pcap" "$big" "$repeat"
cat "$big" > /dev/null
echo "libpcap loop:"
./build/tests/bench/pcap_loop "$big"
echo "skyprobe (1 worker, --expire 30):"
start=$(date +%s.%N)
./build/src/app/skyprobe --pcap "$big" --expire 30 --max-flows 262144 2>"$dir/summary.txt"
end=$(date +%s.%N)
packets=$(awk '$1 == "packets_in" {print $2}' "$dir/summary.txt")
python3 -c "p=$packets; s=$end-$start; print('packets %d seconds %.3f mpps %.3f' % (p, s, p/s/1e6))"
