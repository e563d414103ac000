#!/usr/bin/env bash
# Trained models and their x86 runtime outputs for the cross-platform parity checks of scripts/test_aarch64.sh and
# scripts/test_firmware.sh (issue 13 item 5). Parity needs trained BatchNorm statistics and quantizer state, not
# accuracy, so each model is a short QAT run on the first TRAIN Fashion-MNIST training images (1 epoch), the recipe of
# scripts/test_deploy_parity.sh. For every MODEL it writes into OUT:
#   MODEL.lbm            lowbit export (the runtime's packed file)
#   MODEL.h              lowbit export --format c-header --symbol fw_model (the firmware example's model)
#   MODEL.x86.logits     lowbit run --limit COUNT --logits: this host's runtime, %.9g per logit, one line per image
#   MODEL.x86.pred       lowbit run --predictions
# and OUT/data/fashion-mnist: the training subset and the test split, uncompressed (the classify example reads
# plain IDX files); OUT/data-small/fashion-mnist a smaller training subset.
#   scripts/parity_models.sh HOST_BUILD OUT COUNT MODEL...
# MODEL: lenet5_w1a1_fl8 (BNN, first/last 8-bit: fp32 first conv, W8A8 classifier), lenet5_w1a1 and lenet5_w2a2
# (first/last quantized, 8-bit image input), resnet20_w1a1 (first/last quantized). TRAIN: $LOWBIT_PARITY_TRAIN
# (default 6000; ResNet-20 uses at most 2000: its epoch is ~10x a LeNet's). Data: $LOWBIT_DATA or <repo>/data.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ $# -ge 4 ] || { echo "usage: scripts/parity_models.sh HOST_BUILD OUT COUNT MODEL..." >&2; exit 2; }
host="$1" out="$2" count="$3"
shift 3
lowbit="$host/apps/lowbit"
[ -x "$lowbit" ] || { echo "parity_models: $lowbit not found: build the host first (cmake --build $host)" >&2; exit 2; }
data="${LOWBIT_DATA:-$root/data}"
train_n="${LOWBIT_PARITY_TRAIN:-6000}"
mkdir -p "$out"

python3 - "$data/fashion-mnist" "$out" "$train_n" <<'PY'
import gzip, os, struct, sys
src, dst, n_train = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(name):
    for n in (name, name + '.gz'):
        p = os.path.join(src, n)
        if os.path.exists(p):
            return gzip.open(p).read() if n.endswith('.gz') else open(p, 'rb').read()
    sys.exit('parity_models: Fashion-MNIST is missing (%s): set LOWBIT_DATA or put it under <repo>/data '
             '(scripts/setup.sh downloads it)' % os.path.join(src, name))
img, lab = read('train-images-idx3-ubyte'), read('train-labels-idx1-ubyte')
test = {name: read(name) for name in ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')}
for sub, n in (('data', n_train), ('data-small', min(n_train, 2000))):
    d = os.path.join(dst, sub, 'fashion-mnist')
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, 'train-images-idx3-ubyte'), 'wb').write(img[:4] + struct.pack('>I', n) + img[8:16] + img[16:16 + n * 784])
    open(os.path.join(d, 'train-labels-idx1-ubyte'), 'wb').write(lab[:4] + struct.pack('>I', n) + lab[8:8 + n])
    for name, blob in test.items():
        open(os.path.join(d, name), 'wb').write(blob)
PY

for model in "$@"; do
  subset=data
  case "$model" in
    lenet5_w1a1_fl8) args=(--model lenet5 --quant bnn --wbits 1 --abits 1 --first-last 8) ;;
    lenet5_w1a1) args=(--model lenet5 --quant bnn --wbits 1 --abits 1 --first-last q) ;;
    lenet5_w2a2) args=(--model lenet5 --quant dorefa --wbits 2 --abits 2 --first-last q) ;;
    resnet20_w1a1) args=(--model resnet20 --quant bnn --wbits 1 --abits 1 --first-last q); subset=data-small ;;
    *) echo "parity_models: unknown model '$model'" >&2; exit 2 ;;
  esac
  t0=$(date +%s)
  "$lowbit" train "${args[@]}" --dataset fashion-mnist --data-dir "$out/$subset" --epochs 1 --no-progress --force \
    --out "$out/$model" >"$out/$model.train.log" 2>&1 || { cat "$out/$model.train.log" >&2; exit 1; }
  "$lowbit" export "$out/$model/model.lbar" --out "$out/$model.lbm" >/dev/null
  "$lowbit" export "$out/$model/model.lbar" --out "$out/$model.h" --format c-header --symbol fw_model >/dev/null
  "$lowbit" run "$out/$model.lbm" --dataset fashion-mnist --data-dir "$out/data" --limit "$count" \
    --logits "$out/$model.x86.logits" --predictions "$out/$model.x86.pred" >"$out/$model.x86.log"
  echo "parity_models: $model trained and exported in $(( $(date +%s) - t0 )) s, $(grep -o 'test accuracy: [0-9.]*%' "$out/$model.train.log" | tail -n1); x86 runtime on $count images: $(grep -o 'accuracy [0-9.]*%.*ISA [a-z0-9]*' "$out/$model.x86.log")"
done
