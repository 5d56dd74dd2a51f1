#!/usr/bin/env bash
# test.sh: set up (build + test dependencies), then run every test.
#
#   scripts/test.sh                      # all suites
#   scripts/test.sh golden parse_unit    # only the named meson tests
#   scripts/test.sh --sanitize           # then again under ASan + UBSan (.ci/run does)
#
# Golden tests read the Skydive traces from $SKYPROBE_PCAPS (default:
# ../shared/pcaps). Where that folder is absent they say so and do not run;
# SKYPROBE_REQUIRE_SHARED=1 turns that into a failure (CI sets it). Skipped
# cases are listed at the end (scripts/list_skips.py); SKYPROBE_NO_SKIPS=1
# makes any skipped case a failure (CI sets it).
#
# --sanitize (or SKYPROBE_SANITIZE=1) builds a second tree, build-asan, with
# meson's -Db_sanitize=address,undefined (-O1, line tables only: a third of the
# compile time of -O2 -g) and runs the sanitize suite in it: every unit test,
# the golden and robustness integration suites and the fuzz seed replays. Any
# ASan, LeakSanitizer or UBSan report fails the test that triggered it.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize="${SKYPROBE_SANITIZE:-0}"
names=()
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    *) names+=("$a") ;;
  esac
done

scripts/setup.sh --tests
builds=(build)
status=0
asan_build=
if [[ "$sanitize" == 1 ]]; then
  if [[ ! -f build-asan/build.ninja ]]; then
    meson setup build-asan -Db_sanitize=address,undefined -Doptimization=1 -Ddebug=false \
      -Dcpp_args=-g1 -Dc_args=-g1 -Dbenchmarks=false >/dev/null
  fi
  # Built while the first suite runs, at the lowest priority: most of that
  # suite waits (on live traffic, collectors, timers) and leaves the CPUs idle;
  # its tests still get them whenever they want them.
  nice -n 19 ninja -C build-asan >build-asan/background-build.log 2>&1 &
  asan_build=$!
fi
meson test -C build --print-errorlogs --num-processes 2 "${names[@]}" || status=$?

if [[ -n "$asan_build" ]]; then
  if ! wait "$asan_build"; then
    tail -n 40 build-asan/background-build.log >&2
    status=1
  fi
  builds+=(build-asan)
  meson test -C build-asan --suite sanitize --print-errorlogs --num-processes 2 "${names[@]}" ||
    status=$?
fi

strict=()
[[ "${SKYPROBE_NO_SKIPS:-0}" == 1 ]] && strict=(--strict)
python3 scripts/list_skips.py "${strict[@]}" "${builds[@]}" || status=$?
exit "$status"
