#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets with clang and run each of them in turn.
#
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh 600                  # every target, ten minutes each
#   scripts/fuzz.sh 3600 parser sflow    # only the named targets
#
# Targets (tests/fuzz): parser (ParseFrame on frames of the shared traces),
# sflow (the sFlow v5 decoder), filter_text (the filter language),
# filter_struct (structured Filter messages), grpc_query (a FlowQuery's bytes
# through the server's decoder and the query runner on a small table).
#
# Build dir: $FUZZ_BUILD_DIR (default build-fuzz, set up with clang and
# -Dfuzz=true on first use). Each target's corpus grows in
# $FUZZ_BUILD_DIR/fuzz-corpus/TARGET (kept between runs), its crashing inputs
# land in $FUZZ_BUILD_DIR/TARGET_fuzz_artifacts and its output in
# $FUZZ_BUILD_DIR/fuzz-logs/TARGET.log. Replay a crash with
#   $FUZZ_BUILD_DIR/tests/fuzz/TARGET_fuzz CRASH_FILE
# The last lines give each target's seconds, inputs run (libFuzzer's
# number_of_executed_units) and exit status; the script fails if any target did.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
shift || true
all=(parser sflow filter_text filter_struct grpc_query)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi
for t in "${targets[@]}"; do
  if [[ ! " ${all[*]} " =~ " $t " ]]; then
    echo "fuzz.sh: unknown target '$t' (${all[*]})" >&2
    exit 2
  fi
done

build="${FUZZ_BUILD_DIR:-build-fuzz}"
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dbenchmarks=false \
    --buildtype=debugoptimized
fi
ninja -C "$build" $(printf 'tests/fuzz/%s_fuzz ' "${targets[@]}")
export SKYPROBE_SOURCE_ROOT="$PWD"
mkdir -p "$build/fuzz-logs"

summary=()
failed=0
for t in "${targets[@]}"; do
  fuzzer="$build/tests/fuzz/${t}_fuzz"
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/${t}_fuzz_artifacts"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus"
  case "$t" in
    parser) cmd=(python3 tests/fuzz/run_fuzz.py "$fuzzer") ;;
    sflow) cmd=(python3 tests/fuzz/run_sflow_fuzz.py "$fuzzer") ;;
    filter_text) cmd=(python3 tests/fuzz/run_filter_fuzz.py text "$fuzzer") ;;
    filter_struct) cmd=(python3 tests/fuzz/run_filter_fuzz.py struct "$fuzzer") ;;
    grpc_query) cmd=(python3 tests/fuzz/run_filter_fuzz.py query "$fuzzer") ;;
  esac
  echo "fuzz.sh: $t for $seconds s (log: $log)" >&2
  status=0
  "${cmd[@]}" --seconds "$seconds" --corpus-out "$corpus" --artifacts "$artifacts" \
    > "$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  summary+=("$(printf '%-14s %6s s  %12s inputs  exit %s' "$t" "$seconds" "${runs:-?}" "$status")")
  if [ "$status" -ne 0 ]; then
    failed=1
    tail -30 "$log" >&2
  fi
done
printf 'fuzz.sh: %s\n' "${summary[@]}"
exit "$failed"
