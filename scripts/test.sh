#!/usr/bin/env bash
# Set up (idempotent), build, and run the whole test suite: the native ctest suite (every ISA this CPU runs),
# the aarch64 kernel tests under qemu-aarch64 (cortex-a53 / a76 / max), and the Cortex-M4 firmware smoke test
# under qemu-system-arm, and the deploy parity of trained models over the test split (scripts/test_deploy_parity.sh).
# Exits non-zero if anything fails.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --cross
build="${LOWBIT_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
bash scripts/test_aarch64.sh
bash scripts/test_firmware.sh
bash scripts/test_deploy_parity.sh "$build"
# The native suite last, so its ctest summary closes the output. ctest runs tests in parallel, each of which may
# start OpenMP threads: passive waiting keeps idle OpenMP workers from spinning on cores other tests need.
OMP_WAIT_POLICY=passive ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
