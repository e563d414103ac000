#!/usr/bin/env bash
# lowbit vs PyTorch, fp32 training step and inference, in the same session: writes bench/results/train_step.json.
#
#   scripts/bench_train.sh [--build-dir DIR] [--no-build] [--threads 1,2] [--reps 5] [--min-time 0.3]
#                          [--only lenet5|resnet20] [--spincount N]
#
# For every configuration (LeNet-5 1x28x28 and ResNet-20 3x32x32; train step at batch 128, inference at batch
# 1 and 64; each thread count) it runs bench_train_step (one benchmark per process, so the peak RSS belongs to
# that configuration) and then bench/pytorch_peer.py with the same arguments, back to back, both under
# `chrt -f 10` when permitted. bench/tools/train_compare.py then joins the pairs (median ms/step, ratio
# lowbit / PyTorch, peak memory) into bench/results/train_step.json.
#
# Both run with GOMP_SPINCOUNT=10000 (--spincount; both use libgomp): under SCHED_FIFO on a 2-CPU machine
# libgomp's default spin (300000 iterations) lets an idle waiter hold a CPU another thread of the same run needs;
# measured: lowbit ResNet-20 inference at batch 1, 2 threads, 57 ms with the default vs 4-5 ms with a short spin.
# OpenMP threads are pinned too (OMP_PROC_BIND=true unless set): without it the real-time scheduler sometimes
# stacks two threads on one CPU (PyTorch 2-thread inference at batch 1/64 then ran 6-10x slower than at 1 thread).
# Fair peer: both processes run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (PyTorch's linear layers call
# OpenBLAS through libblas.so.3; a machine-wide OPENBLAS_CORETYPE=Haswell holds it to AVX2); pytorch_peer.py
# records the corename, the BLAS library and ATen's CPU capability, and the load before/after each pair is kept.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build="${LOWBIT_BUILD_DIR:-build}"
do_build=1
threads="1,2"
reps=5
min_time=0.3
only=""
spincount=10000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --spincount) spincount="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_train.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$threads" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench_train.sh: --threads must look like 1,2" >&2; exit 2; }

if [[ $do_build -eq 1 ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target bench_train_step -j "$(nproc)"
fi
bin="$build/bench/bench_train_step"
[[ -x "$bin" ]] || { echo "bench_train.sh: $bin not built" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "bench_train.sh: python3-torch missing (scripts/setup.sh --peers installs it)" >&2; exit 1; }

rt=()
priority="normal priority (chrt -f 10 not permitted)"
if chrt -f 10 true 2>/dev/null; then rt=(chrt -f 10); priority="chrt -f 10"; fi
export GOMP_SPINCOUNT="$spincount"
export OMP_PROC_BIND="${OMP_PROC_BIND:-true}"
priority="$priority; GOMP_SPINCOUNT=$spincount; OMP_PROC_BIND=$OMP_PROC_BIND"
load1="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > 0.5 * n) }'; then
  echo "bench_train.sh: warning: load average $load1 on $(nproc) CPUs; timings will be noisy ($priority)" >&2
fi

peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
if [[ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]]; then
  echo "bench_train.sh: note: ignoring OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-} for the benchmark processes" >&2
fi

tmp="$(mktemp -d /tmp/lowbit_train_bench.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
failed=0
configs=("train_step lenet5 train 128" "train_step resnet20 train 128"
         "inference lenet5 infer 1" "inference lenet5 infer 64"
         "inference resnet20 infer 1" "inference resnet20 infer 64")
IFS=',' read -r -a tlist <<< "$threads"
for t in "${tlist[@]}"; do
  for c in "${configs[@]}"; do
    read -r fn model step batch <<< "$c"
    [[ -n "$only" && "$model" != "$only" ]] && continue
    tag="${model}_${step}_b${batch}_t${t}"
    echo "== $tag ($priority, load $(cut -d' ' -f1 /proc/loadavg))"
    "${peer_env[@]}" LOWBIT_BENCH_THREADS="$t" "${rt[@]}" "$bin" \
      --benchmark_filter="^BM_${fn}/${model}/batch:${batch}/threads:${t}/" \
      --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" --benchmark_display_aggregates_only=true \
      --benchmark_out="$tmp/lowbit_$tag.json" --benchmark_out_format=json \
      --benchmark_context="loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)" >/dev/null 2>"$tmp/lowbit_$tag.log" \
      || { echo "bench_train.sh: bench_train_step failed for $tag:" >&2; cat "$tmp/lowbit_$tag.log" >&2; failed=1; }
    "${peer_env[@]}" "${rt[@]}" /usr/bin/python3 bench/pytorch_peer.py --model "$model" --step "$step" --batch "$batch" \
      --threads "$t" --reps "$reps" --min-time "$min_time" > "$tmp/torch_$tag.json" \
      || { echo "bench_train.sh: pytorch_peer.py failed for $tag" >&2; failed=1; }
  done
done
/usr/bin/python3 bench/tools/train_compare.py --dir "$tmp" --priority "$priority" \
  --out bench/results/train_step.json
exit $failed
