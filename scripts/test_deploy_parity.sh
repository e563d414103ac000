#!/usr/bin/env bash
# Deploy parity on trained models over the whole Fashion-MNIST test split (issue 13 item 5): trains short QAT
# runs (6000 training images, 1 epoch: parity needs trained BatchNorm statistics and quantizer state, not
# accuracy) of a W1A1 LeNet-5 (BNN, 8-bit image input), a ternary-A2, a W2A2 and a mixed-precision LeNet-5 and
# a W1A1 ResNet-20, then runs tests/deploy's checkpoint parity case (export op list vs the training graph's
# eval-mode logits, and the exported .lbm run by the runtime: bit-identical to the op list's reference interpreter)
# under LOWBIT_ISA=ref, avx2 and avx512 (those this CPU runs; image counts below); `lowbit export` + `lowbit run`
# of the W1A1 LeNet-5 give `lowbit eval`'s accuracy; and the export sweep over every zoo model.
#   scripts/test_deploy_parity.sh [build dir]      (default: build; needs $LOWBIT_DATA or data/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
lowbit="$build/apps/lowbit"
data="${LOWBIT_DATA:-$root/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$data/fashion-mnist" "$work/data/fashion-mnist" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst)
def read(name):
    for n in (name, name + '.gz'):
        p = os.path.join(src, n)
        if os.path.exists(p):
            return gzip.open(p).read() if n.endswith('.gz') else open(p, 'rb').read()
    sys.exit('missing ' + os.path.join(src, name))
N = 6000
img, lab = read('train-images-idx3-ubyte'), read('train-labels-idx1-ubyte')
open(os.path.join(dst, 'train-images-idx3-ubyte'), 'wb').write(img[:4] + struct.pack('>I', N) + img[8:16] + img[16:16 + N * 784])
open(os.path.join(dst, 'train-labels-idx1-ubyte'), 'wb').write(lab[:4] + struct.pack('>I', N) + lab[8:8 + N])
for n in ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
    open(os.path.join(dst, n), 'wb').write(read(n))
PY
cat > "$work/mixed.json" <<'JSON'
{"scheme":"dorefa","wbits":2,"abits":2,"first_last":"q",
 "layers":[{"match":"conv2","wbits":1,"abits":4},{"match":"fc1","wbits":4,"abits":1},{"match":"fc2","wbits":8,"abits":3}]}
JSON
common=(--dataset fashion-mnist --data-dir "$work/data" --epochs 1 --no-progress --force)
train() { local out="$1"; shift; "$lowbit" train "$@" "${common[@]}" --out "$work/$out" >"$work/$out.log" 2>&1 || { cat "$work/$out.log"; exit 1; }; }
train lenet_w1a1 --model lenet5 --quant bnn --wbits 1 --abits 1 --first-last q
train lenet_twn_a2 --model lenet5 --quant twn --wbits 2 --abits 2 --first-last q
train lenet_w2a2 --model lenet5 --quant dorefa --wbits 2 --abits 2 --first-last q
train lenet_mixed --model lenet5 --precision-config "$work/mixed.json"
train resnet20_w1a1 --model resnet20 --quant bnn --wbits 1 --abits 1 --first-last q
lenets="$work/lenet_w1a1/model.lbar,$work/lenet_twn_a2/model.lbar,$work/lenet_w2a2/model.lbar,$work/lenet_mixed/model.lbar"
resnet="$work/resnet20_w1a1/model.lbar"

isas="ref"
grep -q ' avx2 ' /proc/cpuinfo && isas="$isas avx2"
grep -q ' avx512bw ' /proc/cpuinfo && isas="$isas avx512"
# Under the CPU's best ISA: the LeNets on the whole split, ResNet-20 on the first 2000 images (the reference
# interpreter is scalar: ~40 ms per ResNet-20 image); under the other ISAs the first 500 images of each (CI time).
best="${isas##* }"
status=0
check() {  # isa checkpoints images
  echo "== deploy parity, LOWBIT_ISA=$1, ${3:-all} test images"
  local out
  out="$(LOWBIT_ISA=$1 LOWBIT_DATA="$work/data" LOWBIT_DEPLOY_CHECKPOINTS="$2" LOWBIT_DEPLOY_IMAGES="$3" \
    "$build/tests/test_deploy" -s -tc="export parity on trained checkpoints*" 2>&1)" || status=1
  echo "$out" | grep -E "images, argmax|runtime \(|ERROR|test cases" || true
}
echo "== export sweep: every zoo model at every precision family exports (runtime == reference) or is refused"
sweep="$(LOWBIT_EXPORT_SWEEP=full "$build/tests/test_deploy" -s -tc="export sweep*" 2>&1)" || status=1
echo "$sweep" | grep -E "exported|refused:|ERROR|test cases" || true
for isa in $isas; do
  if [ "$isa" = "$best" ]; then
    check "$isa" "$lenets" ""
    check "$isa" "$resnet" 2000
  else
    check "$isa" "$lenets,$resnet" 500
  fi
done
echo "== lowbit export + lowbit run (W1A1 LeNet-5) against lowbit eval"
"$lowbit" export "$work/lenet_w1a1/model.lbar" --out "$work/lenet_w1a1.lbm" || status=1
acc_run="$("$lowbit" run "$work/lenet_w1a1.lbm" --dataset fashion-mnist --data-dir "$work/data" | grep -o 'accuracy [0-9.]*%')" || status=1
acc_eval="$("$lowbit" eval --checkpoint "$work/lenet_w1a1/model.lbar" --dataset fashion-mnist --data-dir "$work/data" 2>&1 | grep -o 'accuracy:\? [0-9.]*%' | sed 's/://')" || status=1
echo "runtime: $acc_run, training graph: $acc_eval"
[ -n "$acc_run" ] && [ "$acc_run" = "$acc_eval" ] || { echo "FAIL: the runtime's accuracy differs from lowbit eval's"; status=1; }
exit $status
