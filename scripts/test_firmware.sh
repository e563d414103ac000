#!/usr/bin/env bash
# Build lowbit::kernels freestanding for a Cortex-M4F (LOWBIT_FIRMWARE=ON, arm-none-eabi-g++, newlib-nano) and run
# the semihosting smoke program tests/firmware/smoke_kernels.cpp under qemu-system-arm -M mps2-an386.
# Exits non-zero if the build or the smoke test fails.
#   scripts/test_firmware.sh                       build-firmware/
#   LOWBIT_FIRMWARE_BUILD_DIR=/tmp/fw scripts/test_firmware.sh
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib and qemu-system-arm
# (scripts/setup.sh --cross).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${LOWBIT_FIRMWARE_BUILD_DIR:-build-firmware}"
for tool in arm-none-eabi-g++ qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "test_firmware: $tool not found (run scripts/setup.sh --cross)" >&2; exit 2; }
done
t0=$(date +%s)
cmake -S tests/firmware -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/arm-none-eabi-cortex-m4.cmake" >/dev/null
cmake --build "$build" -j "$(nproc)" --target smoke_kernels smoke_runtime
ctest --test-dir "$build" --output-on-failure
echo "test_firmware: done in $(( $(date +%s) - t0 )) s"
