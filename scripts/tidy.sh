#!/usr/bin/env bash
# tidy.sh: clang-tidy on every source file of src/ with the checks of
# .clang-tidy (warnings are errors there), from a build directory's
# compile_commands.json. CI runs it (.ci/run); exit status 1 on any finding.
#
#   scripts/tidy.sh [BUILD_DIR] [FILE...]     # default build, every src/**/*.cc
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
command -v run-clang-tidy > /dev/null || {
  echo "tidy: clang-tidy is missing (apt-get install clang-tidy)" >&2
  exit 2
}
[[ -f "$build/compile_commands.json" ]] || {
  echo "tidy: no $build/compile_commands.json (meson setup $build first)" >&2
  exit 2
}
files=("$@")
((${#files[@]})) || mapfile -t files < <(find "$PWD/src" -name '*.cc' | sort)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The generated headers (protobuf, gRPC) must exist before clang parses.
# SKYPROBE_TIDY_NO_BUILD=1: the caller built it and may be running ninja there
# (.ci/run, beside the tests).
[[ "${SKYPROBE_TIDY_NO_BUILD:-0}" == 1 ]] || ninja -C "$build" > /dev/null
status=0
run-clang-tidy -p "$build" -quiet -j "$(nproc)" "${files[@]}" > "$log" 2>&1 || status=$?
# run-clang-tidy prints every command and clang's count of suppressed system
# header warnings; the findings are the lines with "warning:" or "error:".
if grep -E "(warning|error): " "$log" | grep -v "warnings generated" > /dev/null || ((status)); then
  grep -E -A3 "(warning|error): " "$log" >&2 || tail -n 40 "$log" >&2
  echo "tidy: findings in src/ (above); fix them or, where the code is right, NOLINT with the reason" >&2
  exit 1
fi
echo "tidy: ${#files[@]} files clean" >&2
