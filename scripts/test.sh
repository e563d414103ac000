#!/usr/bin/env bash
# Set up (idempotent), build, and run the test suite. Exits non-zero if anything fails.
#   bash scripts/test.sh              the whole suite: the native ctest suite (every ISA this CPU runs), the aarch64
#                                     tests under qemu-aarch64 (cortex-a53 / a76 / max), the Cortex-M4 firmware tests
#                                     under qemu-system-arm, the deploy parity of trained models over the test split
#                                     (scripts/test_deploy_parity.sh)
#   bash scripts/test.sh --native     only the native suite (no cross toolchains needed)
#   bash scripts/test.sh --sanitize   the ASan + UBSan build of the native suite (install consumer included); not
#                                     yet part of the default run, whose CI budget (30 min on 2 cores) it has not
#                                     been timed against
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
native=1 cross=1 sanitize=0
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

if [ "$cross" = 1 ]; then bash scripts/setup.sh --cross; else bash scripts/setup.sh; fi
if [ "$native" = 1 ]; then
  build="${LOWBIT_BUILD_DIR:-build}"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" -j "$jobs"
  if [ "$cross" = 1 ]; then
    bash scripts/test_aarch64.sh
    bash scripts/test_firmware.sh
  fi
  bash scripts/test_deploy_parity.sh "$build"
  ctest --test-dir "$build" --output-on-failure -j "$jobs"
fi
if [ "$sanitize" = 1 ]; then
  # Debug info with -O1: sanitizer reports with lines, at a speed the suite stays within minutes.
  sbuild="${LOWBIT_SANITIZE_BUILD_DIR:-build-sanitize}"
  cmake -S . -B "$sbuild" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DLOWBIT_SANITIZE=ON -DLOWBIT_BUILD_BENCH=OFF >/dev/null
  cmake --build "$sbuild" -j "$jobs"
  # detect_leaks: the suite is leak-free; halt_on_error: the first report fails the test that caused it.
  ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    ctest --test-dir "$sbuild" --output-on-failure -j "$jobs"
  echo "test.sh: the ASan + UBSan suite passed"
fi
