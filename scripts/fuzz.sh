#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer parser target with clang and fuzz ParseFrame.
#
#   scripts/fuzz.sh          # short run, 60 s (the fuzz build's parser_fuzz_short test)
#   scripts/fuzz.sh 3600     # long run, one hour; the grown corpus is kept
#
# Build dir: $FUZZ_BUILD_DIR (default build-fuzz, set up with clang and
# -Dfuzz=true on first use). Seeds: every frame of $SKYPROBE_PCAPS (default
# ../shared/pcaps), skydive/ and tcpdump/. The corpus grows in
# $FUZZ_BUILD_DIR/fuzz-corpus; crashing inputs land in
# $FUZZ_BUILD_DIR/parser_fuzz_artifacts. Replay one with
#   $FUZZ_BUILD_DIR/tests/fuzz/parser_fuzz CRASH_FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
build="${FUZZ_BUILD_DIR:-build-fuzz}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dbenchmarks=false \
    --buildtype=debugoptimized
fi
ninja -C "$build" tests/fuzz/parser_fuzz
export SKYPROBE_SOURCE_ROOT="$PWD"
exec python3 tests/fuzz/run_fuzz.py "$build/tests/fuzz/parser_fuzz" --seconds "$seconds" \
  --corpus-out "$build/fuzz-corpus" --artifacts "$build/parser_fuzz_artifacts"
