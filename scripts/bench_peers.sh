#!/usr/bin/env bash
# bench_peers.sh: skyprobe against the flow probes a user could run instead
# (issue 13 item 1), on the offline path, each the whole process:
#   - softflowd (Debian's 1.1.0), reading the file with libpcap;
#   - nfpcapd (nfdump's pcap reader, Debian's 1.7), writing nfcapd files;
#   - skyprobe (the mapped reader, the default).
# Two rows of comparison, each peer doing comparable work:
#   tracking: flows built and counted, nothing exported (softflowd with no
#             collector, skyprobe with no output);
#   export:   every flow written out (softflowd IPFIX over UDP to a socket
#             nobody reads, nfpcapd's nfcapd file, skyprobe's IPFIX file).
# The capture is the one of scripts/bench_offline.sh (gen_flows_pcap.py
# --flows 1000000 --replies --rounds 10: 10,000,000 60-byte frames, 1,000,000
# UDP conversations all alive at once, 760 MB), read once into the page cache
# first. Every table is sized so that nothing is evicted (softflowd -m,
# nfpcapd -B, skyprobe --max-flows). The commands run in turn, PAIRS rounds;
# the summary gives medians of wall and CPU (user + system) seconds and, round
# by round, each peer's times over skyprobe's in the same round.
#
#   scripts/bench_peers.sh [PAIRS]        # default 3; needs a release build in build/
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-3}"
for tool in softflowd nfpcapd; do
  command -v "$tool" > /dev/null || {
    echo "bench_peers: $tool is missing (apt-get install softflowd nfdump)" >&2
    exit 2
  }
done
dir=build/bench-offline
mkdir -p "$dir"
big="$dir/flows1m-10m.pcap"
[[ -f "$big" ]] || python3 scripts/gen_flows_pcap.py "$big" --flows 1000000 --replies --rounds 10
cat "$big" > /dev/null
work=$(mktemp -d)
sink_pid=""
cleanup() {
  [[ -n "$sink_pid" ]] && kill "$sink_pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# A UDP socket that is bound but never read: softflowd's datagrams cost it
# their sendto and are then dropped by the kernel, as for an unreachable collector.
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True); time.sleep(86400)' > "$work/port" &
sink_pid=$!
while [[ ! -s "$work/port" ]]; do sleep 0.1; done
port=$(cat "$work/port")

probe=(./build/src/app/skyprobe --pcap "$big" --max-flows 1100000 --quiet)
declare -A cmd=(
  [skyprobe]="${probe[*]}"
  [softflowd]="softflowd -d -r $big -m 4000000"
  [skyprobe_ipfix]="${probe[*]} --ipfix file:$work/flows.ipfix"
  [softflowd_ipfix]="softflowd -d -r $big -m 4000000 -v 10 -n 127.0.0.1:$port"
  [nfpcapd]="nfpcapd -r $big -w $work/nfcapd -B 4000000"
)
order=(skyprobe softflowd skyprobe_ipfix softflowd_ipfix nfpcapd)
mkdir -p "$work/nfcapd"
times="$work/times"
for round in $(seq "$pairs"); do
  for name in "${order[@]}"; do
    rm -rf "$work/nfcapd"/* "$work/flows.ipfix"
    # The last run's output written back first, outside the timing: dirty pages
    # left by one run would otherwise throttle the next one's writes (seen: an
    # IPFIX run at 5.2 s wall for 2.5 s of CPU after a large write).
    sync
    # shellcheck disable=SC2086 # the commands are word lists
    /usr/bin/time -f "$round $name %e %U %S" -a -o "$times" ${cmd[$name]} > /dev/null 2>&1 || {
      echo "bench_peers: $name failed: ${cmd[$name]}" >&2
      exit 1
    }
    tail -n 1 "$times" >&2
  done
done
for name in "${order[@]}"; do echo "  $name: ${cmd[$name]}"; done
python3 - "$times" << 'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r, name, wall, user, system = line.split()
    rows.setdefault(name, {})[int(r)] = (float(wall), float(user) + float(system))
def med(v): return statistics.median(v)
print("%-16s %9s %9s   %s" % ("", "wall s", "CPU s", "over skyprobe's in the same round: wall, CPU (medians)"))
for name, by_round in rows.items():
    base = rows["skyprobe_ipfix" if name in ("softflowd_ipfix", "nfpcapd") else "skyprobe"]
    walls = [w for w, _ in by_round.values()]
    cpus = [c for _, c in by_round.values()]
    rw = [by_round[r][0] / base[r][0] for r in by_round]
    rc = [by_round[r][1] / base[r][1] for r in by_round]
    print("%-16s %9.2f %9.2f   %.2f, %.2f" % (name, med(walls), med(cpus), med(rw), med(rc)))
EOF
