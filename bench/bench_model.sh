#!/usr/bin/env bash
# The deployed models' speed and size (issue 13, "Speed and size"): W1A1 ResNet-20 (BNN, first/last 8-bit) and
# W1A1 LeNet-5 on Fashion-MNIST-sized input (1x28x28), run by the runtime (`lowbit bench-model model.lbm`),
# against PyTorch fp32 of the same architecture and shape (bench/pytorch_peer.py), lowbit's own fp32 eval (the
# fp32 checkpoint's training graph in eval mode) and the QAT eval (the W1A1 checkpoint's training graph in eval
# mode), in the same session: batch 1 at 1 thread (latency) and batch 64 at 2 threads (throughput).
#
#   bench/bench_model.sh [--build-dir DIR] [--no-build] [--rounds 5] [--min-time 1] [--only lenet5|resnet20]
#                        [--train-images 2000] [--pause-pattern PATTERN] [--spincount N] [--out-dir DIR] [--perf]
#
# Models are trained here for 1 epoch on the first --train-images Fashion-MNIST training images ($LOWBIT_DATA or
# data/): speed does not depend on accuracy, but BatchNorm statistics and quantizer state must be a trained
# model's. Timing: --rounds rounds; in each, every configuration runs as its own process, one after the other (the
# order reversed every other round), each for at least --min-time seconds of timed runs after a warm-up; a ratio
# is taken within a round and the reported figure is the median over rounds. Inputs are seeded random images
# normalised as the model says (lowbit) or uniform noise in [-1, 1) (PyTorch): the cost does not depend on the
# values. All processes run with GOMP_SPINCOUNT=10000 and OMP_PROC_BIND=true (both use libgomp; see
# bench/README.md) and under `chrt -f 10` when permitted; PyTorch with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset
# (its own BLAS choice, recorded). --pause-pattern stops the processes whose command line matches (pkill -STOP -f)
# while timing and resumes them (-CONT) on every exit path.
#
# --perf: after the rounds, `perf record` of the runtime at each configuration (3 s) and its top symbols (where the
# time goes: the C API has no per-op timer) join the results.
#
# Writes <out-dir>/model_<model>_w1a1.json (every round's raw results, the machine, the ratios) and
# <out-dir>/model_bench.md (default out-dir: bench/results), rendered by bench/bench_model_report.py.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build="${LOWBIT_BUILD_DIR:-build}"
do_build=1
rounds=5
min_time=1
only=""
train_images=2000
pause=""
spincount=10000
out_dir="bench/results"
do_perf=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --train-images) train_images="$2"; shift 2 ;;
    --pause-pattern) pause="$2"; shift 2 ;;
    --spincount) spincount="$2"; shift 2 ;;
    --out-dir) out_dir="$2"; shift 2 ;;
    --perf) do_perf=1; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "bench_model.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "bench_model.sh: --rounds must be a positive integer" >&2; exit 2; }
[[ "$train_images" =~ ^[1-9][0-9]*$ ]] || { echo "bench_model.sh: --train-images must be a positive integer" >&2; exit 2; }
[[ -z "$only" || "$only" == lenet5 || "$only" == resnet20 ]] || { echo "bench_model.sh: --only lenet5|resnet20" >&2; exit 2; }
models=(lenet5 resnet20)
[[ -n "$only" ]] && models=("$only")

if [[ $do_build -eq 1 ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target lowbit -j 2
fi
lowbit="$(cd "$build" && pwd)/apps/lowbit"
[[ -x "$lowbit" ]] || { echo "bench_model.sh: $lowbit not built" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "bench_model.sh: python3-torch missing (scripts/setup.sh --peers installs it)" >&2; exit 1; }
data="${LOWBIT_DATA:-$root/data}"
[[ -d "$data/fashion-mnist" ]] || { echo "bench_model.sh: no Fashion-MNIST in $data (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out_dir"

work="$(mktemp -d /tmp/lowbit_bench_model.XXXXXX)"
resume() { if [[ -n "$pause" ]]; then pkill -CONT -f "$pause" || true; fi; }
trap 'resume; rm -rf "$work"' EXIT

# A training split of the first N images (the test split whole): a short run only needs trained statistics.
/usr/bin/python3 - "$data/fashion-mnist" "$work/data/fashion-mnist" "$train_images" <<'PY'
import gzip, os, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst)
def read(name):
    for f in (name, name + '.gz'):
        p = os.path.join(src, f)
        if os.path.exists(p):
            return gzip.open(p).read() if f.endswith('.gz') else open(p, 'rb').read()
    sys.exit('missing ' + os.path.join(src, name))
img, lab = read('train-images-idx3-ubyte'), read('train-labels-idx1-ubyte')
n = min(n, struct.unpack('>I', img[4:8])[0])
open(os.path.join(dst, 'train-images-idx3-ubyte'), 'wb').write(img[:4] + struct.pack('>I', n) + img[8:16] + img[16:16 + n * 784])
open(os.path.join(dst, 'train-labels-idx1-ubyte'), 'wb').write(lab[:4] + struct.pack('>I', n) + lab[8:8 + n])
for f in ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
    open(os.path.join(dst, f), 'wb').write(read(f))
PY

train() {  # out, then train flags
  local out="$1"; shift
  echo "== training $out (1 epoch, $train_images images)"
  nice -n 5 "$lowbit" train "$@" --dataset fashion-mnist --data-dir "$work/data" --epochs 1 --threads 2 \
    --no-progress --force --out "$work/$out" >"$work/$out.log" 2>&1 || { cat "$work/$out.log"; exit 1; }
}
for m in "${models[@]}"; do
  train "${m}_w1a1" --model "$m" --quant bnn --wbits 1 --abits 1 --first-last 8
  train "${m}_fp32" --model "$m"
  "$lowbit" export "$work/${m}_w1a1/model.lbar" --out "$work/${m}_w1a1.lbm"
  "$lowbit" info "$work/${m}_w1a1.lbm" >"$work/${m}_w1a1.info.txt"
done

rt=()
priority="normal priority (chrt -f 10 not permitted)"
if chrt -f 10 true 2>/dev/null; then rt=(chrt -f 10); priority="chrt -f 10"; fi
export GOMP_SPINCOUNT="$spincount"
export OMP_PROC_BIND="${OMP_PROC_BIND:-true}"
priority="$priority; GOMP_SPINCOUNT=$spincount; OMP_PROC_BIND=$OMP_PROC_BIND"
peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

if [[ -n "$pause" ]]; then
  echo "== pausing processes matching '$pause' while timing"
  pkill -STOP -f "$pause" || echo "   (none running)"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load before timing: $load_before ($priority)"

# configuration: batch threads
configs=("1 1" "64 2")
run_kind() {  # round model batch threads kind
  local r="$1" m="$2" b="$3" t="$4" k="$5" out="$work/r$1_$2_b$3_t$4_$5.json"
  local common=(--batch "$b" --threads "$t" --min-time "$min_time" --reps 20 --warmup 5)
  case "$k" in
    runtime) "${rt[@]}" "$lowbit" bench-model "$work/${m}_w1a1.lbm" "${common[@]}" --json "$out" >/dev/null ;;
    qat_eval) "${rt[@]}" "$lowbit" bench-model "$work/${m}_w1a1/model.lbar" "${common[@]}" --json "$out" >/dev/null ;;
    fp32_eval) "${rt[@]}" "$lowbit" bench-model "$work/${m}_fp32/model.lbar" "${common[@]}" --json "$out" >/dev/null ;;
    pytorch) "${rt[@]}" "${peer_env[@]}" /usr/bin/python3 bench/pytorch_peer.py --model "$m" --step infer --batch "$b" \
               --threads "$t" --shape 1x28x28 --timing per-run --reps 20 --warmup 5 --min-time "$min_time" >"$out" ;;
  esac
}
kinds=(runtime pytorch fp32_eval qat_eval)
for ((r = 1; r <= rounds; ++r)); do
  order=("${kinds[@]}")
  if ((r % 2 == 0)); then order=(qat_eval fp32_eval pytorch runtime); fi
  echo "== round $r/$rounds: ${order[*]}"
  for m in "${models[@]}"; do
    for c in "${configs[@]}"; do
      read -r b t <<<"$c"
      for k in "${order[@]}"; do run_kind "$r" "$m" "$b" "$t" "$k"; done
    done
  done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $do_perf -eq 1 ]]; then
  if command -v perf >/dev/null 2>&1; then
    for m in "${models[@]}"; do
      for c in "${configs[@]}"; do
        read -r b t <<<"$c"
        echo "== perf: $m W1A1 on the runtime, batch $b, $t thread(s)"
        perf record -q -o "$work/perf.data" -- "$lowbit" bench-model "$work/${m}_w1a1.lbm" --batch "$b" --threads "$t" \
          --min-time 3 --reps 20 >/dev/null 2>&1 || true
        perf report -q -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' |
          head -25 >"$work/perf_${m}_b${b}_t${t}.txt" || true
      done
    done
  else
    echo "bench_model.sh: perf not installed (scripts/setup.sh --peers): no profile" >&2
  fi
fi
resume

for m in "${models[@]}"; do
  /usr/bin/python3 bench/bench_model_report.py model --model "$m" --work "$work" --rounds "$rounds" \
    --lbm "$work/${m}_w1a1.lbm" --fp32-checkpoint "$work/${m}_fp32/model.lbar" \
    --qat-checkpoint "$work/${m}_w1a1/model.lbar" --info "$work/${m}_w1a1.info.txt" --perf-dir "$work" \
    --settings "rounds=$rounds min_time=$min_time train_images=$train_images; $priority; paused: ${pause:-nothing}" \
    --load "$load_before" "$load_after" --out "$out_dir/model_${m}_w1a1.json"
done
/usr/bin/python3 bench/bench_model_report.py markdown --out "$out_dir/model_bench.md" "$out_dir"/model_*_w1a1.json
cat "$out_dir/model_bench.md"
