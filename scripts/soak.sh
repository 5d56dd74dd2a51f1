#!/usr/bin/env bash
# soak.sh: skyprobe for a long run under paced replay, flow churn and gRPC load (issue 9 item 14).
#
#   scripts/soak.sh [--duration SEC] [--short] [--interval SEC] [--rate PPS] [--build DIR] [--out DIR]
#
# Default: 30 minutes of replay, a sample every 10 s; --short is a ~30 s smoke run. Not in CI.
# scripts/soak.py does the work and documents what it checks (verdicts in scripts/soak_checks.py); this runs it at low priority
# (the machine is shared), from the source tree.
set -euo pipefail
cd "$(dirname "$0")/.."
# The python3 on PATH if it has the grpc module (python3-grpcio), else Debian's.
py=python3
if ! python3 -c 'import grpc' 2>/dev/null; then py=/usr/bin/python3; fi
exec nice -n 10 "$py" scripts/soak.py "$@"
