#!/usr/bin/env bash
# Cross-build the kernels for aarch64 and run their tests under qemu-user on three CPU models:
#   cortex-a53  armv8.0 NEON, no dot product  -> the vcnt/vpadal and smull/sadalp paths
#   cortex-a76  armv8.2 + dotprod             -> the sdot/udot paths
#   max         everything qemu knows (sve, i8mm, ...) -> same kernels, checks nothing new traps
# The build is LOWBIT_KERNELS_ONLY (engine/nn need fmt/zlib, which Debian has no arm64 cross packages for), so
# ctest runs test_kernels and test_runtime. Every test runs with LOWBIT_ISA unset (best ISA = neon) and the family tests compare neon against ref
# themselves. Exits non-zero if any configuration fails.
#
#   scripts/test_aarch64.sh                 build-aarch64/, all three CPUs
#   LOWBIT_AARCH64_FULL=1 scripts/test_aarch64.sh   every test on every CPU model (default: see select_tests)
#   LOWBIT_AARCH64_CPUS="cortex-a53" scripts/test_aarch64.sh
#   LOWBIT_AARCH64_BUILD_DIR=/tmp/b scripts/test_aarch64.sh
# Needs g++-aarch64-linux-gnu and qemu-user (scripts/setup.sh --cross).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${LOWBIT_AARCH64_BUILD_DIR:-build-aarch64}"
cpus="${LOWBIT_AARCH64_CPUS:-cortex-a53 cortex-a76 max}"
full="${LOWBIT_AARCH64_FULL:-0}"
sysroot=/usr/aarch64-linux-gnu
jobs="$(nproc)"

for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test_aarch64: $tool not found (run scripts/setup.sh --cross)" >&2; exit 2; }
done

t0=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DLOWBIT_KERNELS_ONLY=ON >/dev/null
cmake --build "$build" -j "$jobs"
t1=$(date +%s)
echo "test_aarch64: build took $((t1 - t0)) s"

# Whether each CPU model reports the dot-product extension; the feature test checks detection against it.
expect_dotprod() {
  case "$1" in
    cortex-a53|cortex-a57|cortex-a72) echo 0 ;;
    *) echo 1 ;;
  esac
}

# Under qemu a full pass costs ~10 CPU-minutes per CPU model, most of it in the families' random-shape sweeps. Only
# qgemm has a CPU-dependent path (sdot with dotprod, smull without); the popcount kernels run the same code on
# every model. So by default: cortex-a53 runs everything (all armv8.0 paths), cortex-a76 runs qgemm in full plus
# the feature/ISA tests (the sdot paths), max runs the feature/ISA tests and qgemm's deterministic sweeps.
# LOWBIT_AARCH64_FULL=1 runs everything on every model.
declare -a summary=()
failed=0
select_tests() {  # ctest selection arguments for one CPU model
  [ "$full" = 1 ] && return 0
  case "$1" in
    cortex-a53) ;;
    cortex-a76) printf '%s\n' -R "qgemm|neon|isa" ;;
    *) printf '%s\n' -R "qgemm|neon|isa" -E "random shapes" ;;
  esac
}
for cpu in $cpus; do
  s0=$(date +%s)
  mapfile -t sel < <(select_tests "$cpu")
  if QEMU_CPU="$cpu" QEMU_LD_PREFIX="$sysroot" LOWBIT_EXPECT_DOTPROD="$(expect_dotprod "$cpu")" \
     ctest --test-dir "$build" --output-on-failure -j "$jobs" "${sel[@]}" > "$build/ctest-$cpu.log" 2>&1; then
    status=PASS
  else
    status=FAIL
    failed=1
    tail -n 60 "$build/ctest-$cpu.log"
  fi
  s1=$(date +%s)
  line="$(grep -E 'tests passed' "$build/ctest-$cpu.log" | tail -n1 || true)"
  summary+=("$(printf '%-11s %s  %4d s  %s' "$cpu" "$status" $((s1 - s0)) "$line")")
done

echo "test_aarch64 summary (qemu-aarch64, build $((t1 - t0)) s):"
for l in "${summary[@]}"; do echo "  $l"; done
exit "$failed"
