#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/) for [seconds] each (default 60), one after another on one core,
# starting from the committed seed corpus, and prints per target: executions, seconds, crashes.
#   scripts/fuzz.sh [seconds]          build (clang, ASan + UBSan, -DLOWBIT_FUZZ=ON) in build-fuzz/ and run all
#   LOWBIT_FUZZ_TARGETS="idx svhn" scripts/fuzz.sh 30     only some targets
#   LOWBIT_FUZZ_KEEP_GOING=1 scripts/fuzz.sh 300        go on after a crash (libFuzzer -fork=1 -ignore_crashes=1)
# New interesting inputs go to build-fuzz/corpus/<target>/ (not committed); a crash leaves its input in
# build-fuzz/artifacts/<target>/ and makes the script exit 1: add that file to tests/fuzz/corpus/<target>/ once
# the bug is fixed, so the ctest replay keeps it fixed. Needs clang (Debian: clang, libclang-rt-dev); the default
# build and scripts/test.sh do not.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
targets="${LOWBIT_FUZZ_TARGETS:-idx cifar10 svhn archive precision lbm}"
build="${LOWBIT_FUZZ_BUILD_DIR:-build-fuzz}"
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found; install it (apt-get install clang libclang-rt-dev) to run the fuzzers." >&2
  echo "fuzz.sh: the committed corpora are still replayed by ctest in the normal build." >&2
  exit 2
fi
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DLOWBIT_FUZZ=ON -DLOWBIT_BUILD_BENCH=OFF -DLOWBIT_BUILD_APPS=OFF "${launcher[@]}" >/dev/null
build_targets=()
for t in $targets; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j "${LOWBIT_FUZZ_JOBS:-2}" --target "${build_targets[@]}"

status=0
summary=()
for t in $targets; do
  corpus="$build/corpus/$t"; artifacts="$build/artifacts/$t"; log="$build/fuzz_$t.log"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz.sh: $t for ${seconds}s"
  start=$(date +%s)
  rc=0
  keep_going=()
  [ "${LOWBIT_FUZZ_KEEP_GOING:-0}" = 1 ] && keep_going=(-fork=1 -ignore_crashes=1)
  # One worker, no fork: the machine may be shared. Inputs up to 16 KiB (the seeds are at most ~6.5 KiB).
  # libmatio sizes some buffers from header fields it has not checked against the file (a 1 KiB file asked for
  # 7.5 GB, never touched: 13 MB resident without the sanitizers), so no limit per allocation; the resident
  # memory stays limited to 2 GiB.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 \
    -malloc_limit_mb=1048576 -timeout=20 "${keep_going[@]}" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  # Fork mode prints no final stats: its last progress line "#<executions>: cov: ..." counts them.
  [ -z "$execs" ] && execs=$(sed -n 's/^#\([0-9][0-9]*\): cov:.*/\1/p' "$log" | tail -n1)
  crashes=$(find "$artifacts" -type f | wc -l)
  line="$(printf '%-10s %12s executions %6ss %3s crash files' "$t" "${execs:-?}" "$elapsed" "$crashes")"
  summary+=("$line  exit $rc")
  if [ "$rc" -ne 0 ]; then
    status=1
    tail -n 30 "$log" >&2
  fi
done
echo "fuzz.sh: summary (logs in $build/fuzz_<target>.log)"
printf '  %s\n' "${summary[@]}"
exit "$status"
