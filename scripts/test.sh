#!/usr/bin/env bash
# Set up (idempotent), build, and run the test suite. Exits non-zero if anything fails.
#   bash scripts/test.sh              the whole suite (CI runs this): the native ctest suite (every ISA this CPU
#                                     runs), the aarch64 tests under qemu-aarch64 (cortex-a53 / a76 / max), the
#                                     Cortex-M4 firmware tests under qemu-system-arm, the deploy parity of trained
#                                     models (scripts/test_deploy_parity.sh), and the ASan + UBSan build of the
#                                     whole native suite, install consumer included
#   LOWBIT_TEST_SANITIZE=0 bash scripts/test.sh   the same without the sanitizer build
#   bash scripts/test.sh --native     only the native suite (no cross toolchains, no sanitizer build)
#   bash scripts/test.sh --sanitize   only the ASan + UBSan build of the native suite
# The sanitizer build is lean so the whole run stays within CI's 30 minutes on 2 cores: -O1 with line tables only
# (-g1), no benchmarks, no fuzz targets, ccache when installed (CCACHE_BASEDIR = the checkout, so another clone
# hits the same cache). In the whole run it builds while the cross and firmware stages run (both CPU-bound; the
# overlap can only fill the other's serial stretches: configure, links, test discovery, qemu start-up; its log goes
# to <build dir>/build.log and is shown if it fails); its ctest runs after the native ctest, never alongside it.
# LOWBIT_TEST_SERIAL=1 runs the stages one after another (for timing each).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
native=1 cross=1 sanitize="${LOWBIT_TEST_SANITIZE:-1}"
case "${1:-}" in
  "") ;;
  --native) cross=0 sanitize=0 ;;
  --sanitize) native=0 cross=0 sanitize=1 ;;
  *) echo "usage: scripts/test.sh [--native | --sanitize]" >&2; exit 2 ;;
esac
jobs="$(nproc)"
# ctest runs tests in parallel, each of which may start OpenMP threads: passive waiting keeps idle OpenMP workers
# from spinning on cores other tests need.
export OMP_WAIT_POLICY=passive
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
stage() { echo "test.sh: $* ($(date -u +%H:%M:%S))"; }
# A failing stage ends the run: stop the background sanitizer build (its process tree) with it.
sanitize_pid=""
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null || true); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
trap 'if [ -n "$sanitize_pid" ]; then kill_tree "$sanitize_pid"; fi' EXIT

sbuild="${LOWBIT_SANITIZE_BUILD_DIR:-build-sanitize}"
build_sanitized() {
  # Debug line tables with -O1: sanitizer reports with file:line, at a speed the suite stays within minutes.
  cmake -S . -B "$sbuild" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DLOWBIT_SANITIZE=ON -DLOWBIT_BUILD_BENCH=OFF -DLOWBIT_FUZZ=OFF \
    "${launcher[@]}" >/dev/null
  cmake --build "$sbuild" -j "$jobs"
}
test_sanitized() {
  # detect_leaks: the suite is leak-free; halt_on_error: the first report fails the test that caused it.
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir "$sbuild" --output-on-failure -j "$jobs"
  echo "test.sh: the ASan + UBSan suite passed"
}

if [ "$cross" = 1 ]; then bash scripts/setup.sh --cross; else bash scripts/setup.sh; fi
if [ "$native" = 1 ]; then
  build="${LOWBIT_BUILD_DIR:-build}"
  stage "native build"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
  cmake --build "$build" -j "$jobs"
  if [ "$cross" = 1 ]; then
    if [ "$sanitize" = 1 ] && [ "${LOWBIT_TEST_SERIAL:-0}" != 1 ]; then
      stage "sanitizer build, alongside the qemu stages (log: $sbuild/build.log)"
      mkdir -p "$sbuild"
      build_sanitized >"$sbuild/build.log" 2>&1 &
      sanitize_pid=$!
    fi
    stage "aarch64 under qemu"
    bash scripts/test_aarch64.sh
    stage "firmware under qemu"
    bash scripts/test_firmware.sh
  fi
  stage "deploy parity"
  bash scripts/test_deploy_parity.sh "$build"
  stage "native ctest"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
  if [ -n "$sanitize_pid" ]; then
    if ! wait "$sanitize_pid"; then
      tail -n 60 "$sbuild/build.log" >&2
      echo "test.sh: the sanitizer build failed (log: $sbuild/build.log)" >&2
      exit 1
    fi
    sanitize_pid=""
    stage "ASan + UBSan ctest"
    test_sanitized
    sanitize=0
  fi
fi
if [ "$sanitize" = 1 ]; then
  stage "sanitizer build"
  build_sanitized
  stage "ASan + UBSan ctest"
  test_sanitized
fi
stage "done"
