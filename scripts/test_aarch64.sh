#!/usr/bin/env bash
# Cross-build the kernels for aarch64 and run their tests under qemu-user on three CPU models:
#   cortex-a53  armv8.0 NEON, no dot product  -> the vcnt/vpadal and smull/sadalp paths
#   cortex-a76  armv8.2 + dotprod             -> the sdot/udot paths
#   max         everything qemu knows (sve, i8mm, ...) -> same kernels, checks nothing new traps
# The build is LOWBIT_KERNELS_ONLY (engine/nn need fmt/zlib, which Debian has no arm64 cross packages for), so
# ctest runs test_kernels and test_runtime. Every test runs with LOWBIT_ISA unset (best ISA = neon) and the family tests compare neon against ref
# themselves. Then trained-model parity (issue 13 item 5): scripts/parity_models.sh trains a W1A1 LeNet-5 (first/last
# 8-bit), a W1A1 and a W2A2 LeNet-5 (first/last quantized) and a W1A1 ResNet-20 on the host for one short epoch and
# runs them with the x86 runtime; the aarch64 build's classify example (runtime/examples/classify.c, `lowbit`
# itself needs engine/nn, which this build leaves out) runs the same .lbm files on the first test images under
# qemu-aarch64 on cortex-a53 and cortex-a76 with LOWBIT_ISA=ref and neon, and scripts/compare_logits.py checks
# predictions identical and logits bit-identical or within 1e-5 relative. It needs the host build's lowbit
# ($LOWBIT_BUILD_DIR, default build/) and Fashion-MNIST ($LOWBIT_DATA or data/); without them it fails with a
# message (LOWBIT_AARCH64_PARITY=0 skips it). Exits non-zero if any configuration fails.
#
#   scripts/test_aarch64.sh                 build-aarch64/, all three CPUs
#   LOWBIT_AARCH64_FULL=1 scripts/test_aarch64.sh   every test on every CPU model (default: see select_tests)
#   LOWBIT_AARCH64_CPUS="cortex-a53" scripts/test_aarch64.sh
#   LOWBIT_AARCH64_BUILD_DIR=/tmp/b scripts/test_aarch64.sh
#   LOWBIT_AARCH64_PARITY_IMAGES=1000 LOWBIT_AARCH64_PARITY_RESNET_IMAGES=200   test images per LeNet / ResNet-20 run
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


# ---- trained-model parity against the x86 runtime ----
if [ "${LOWBIT_AARCH64_PARITY:-1}" != 0 ]; then
  p0=$(date +%s)
  host="${LOWBIT_BUILD_DIR:-build}"
  work="$build/trained"
  lenet_n="${LOWBIT_AARCH64_PARITY_IMAGES:-1000}"
  resnet_n="${LOWBIT_AARCH64_PARITY_RESNET_IMAGES:-200}"
  max_n=$(( lenet_n > resnet_n ? lenet_n : resnet_n ))
  models="lenet5_w1a1_fl8 lenet5_w1a1 lenet5_w2a2 resnet20_w1a1"
  # shellcheck disable=SC2086
  if bash scripts/parity_models.sh "$host" "$work" "$max_n" $models; then
    test_dir="$work/data/fashion-mnist"
    parity_job() {  # cpu isa model images
      local tag="$1.$2.$3"
      QEMU_CPU="$1" QEMU_LD_PREFIX="$sysroot" LOWBIT_ISA="$2" qemu-aarch64 "$build/runtime/classify" "$work/$3.lbm" \
        "$test_dir/t10k-images-idx3-ubyte" "$test_dir/t10k-labels-idx1-ubyte" --count "$4" \
        --logits "$work/$tag.logits" >"$work/$tag.pred" 2>"$work/$tag.err" || { cat "$work/$tag.err"; return 1; }
      python3 scripts/compare_logits.py "$(printf '%-11s %-4s %-16s' "$1" "$2" "$3")" "$work/$3.x86.logits" \
        "$work/$3.x86.pred" "$work/$tag.logits" "$work/$tag.pred" --count "$4" >"$work/$tag.cmp"
    }
    declare -a tags=()
    running=0
    for cpu in cortex-a53 cortex-a76; do
      for isa in ref neon; do
        for model in $models; do
          n=$lenet_n
          [ "$model" = resnet20_w1a1 ] && n=$resnet_n
          if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
          parity_job "$cpu" "$isa" "$model" "$n" &
          running=$((running + 1))
          tags+=("$cpu.$isa.$model")
        done
      done
    done
    wait || true
    for tag in "${tags[@]}"; do
      line="$(cat "$work/$tag.cmp" 2>/dev/null || echo "$tag: FAIL (no comparison: see $work/$tag.err)")"
      summary+=("parity $line")
      case "$line" in *": PASS "*) ;; *) failed=1 ;; esac
    done
  else
    summary+=("parity     FAIL  (scripts/parity_models.sh failed: see above)")
    failed=1
  fi
  summary+=("$(printf 'parity      %4d s (training on the host included)' $(( $(date +%s) - p0 )))")
fi

echo "test_aarch64 summary (qemu-aarch64, build $((t1 - t0)) s):"
for l in "${summary[@]}"; do echo "  $l"; done
exit "$failed"
