#!/usr/bin/env bash
# test.sh: set up (build + test dependencies), then run every test.
#
#   scripts/test.sh                      # all suites
#   scripts/test.sh golden parse_unit    # only the named meson tests
#
# Golden tests read the Skydive traces from $SKYPROBE_PCAPS (default:
# ../shared/pcaps). Where that folder is absent they say so and do not run;
# SKYPROBE_REQUIRE_SHARED=1 turns that into a failure (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
meson test -C build --print-errorlogs --num-processes 2 "$@"
