#!/usr/bin/env bash
# demo.sh: set up, then run skyprobe on the bundled capture and print its flows.
#
#   scripts/demo.sh                 # tests/data/demo.pcap
#   scripts/demo.sh my.pcap         # any pcap or pcapng file
#
# No NIC and no hugepages: the capture is replayed from the mapped file
# through DPDK's mbufs; flows are printed as a table (JSON lines are in
# build/demo.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
pcap="${1:-tests/data/demo.pcap}"
./build/src/app/skyprobe --pcap "$pcap" --json build/demo.json
python3 scripts/flows_table.py build/demo.json
