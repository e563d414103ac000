#!/bin/bash
# The LeNet-5 Fashion-MNIST block-replacement runs, through `lowbit train` (the recipe of lab/grids/br_lenet5.json:
# per seed one fp32 teacher of 5 epochs; every cell 1 epoch on the full training set from that teacher).
# Usage: [DATASET=mnist] [THREADS=1] run.sh LOWBIT_BINARY OUT_DIR [bits...]   (the data from $LOWBIT_DATA; DATASET defaults
# to fashion-mnist); finished runs are skipped.
set -u
BIN=$1
OUT=$2
shift 2
BITS=${*:-2 4 3}
DATASET=${DATASET:-fashion-mnist}
COMMON="--model lenet5 --dataset $DATASET --batch 128 --optimizer sgd --lr 0.05 --momentum 0.9 --schedule cosine --weight-decay 0.0005 --threads ${THREADS:-2} --no-progress"
mkdir -p "$OUT"
for B in $BITS; do
  for S in 1 2 3; do
    T=$OUT/teacher_seed$S
    [ -f "$T/model.lbar" ] || "$BIN" train $COMMON --seed $S --epochs 5 --out "$T" > "$T.log" 2>&1
    Q="--quant lsq --wbits $B --abits $B --first-last fp32 --init $T/model.lbar --epochs 1 --seed $S"
    D="--quant dorefa --wbits $B --abits $B --first-last fp32 --init $T/model.lbar --epochs 1 --seed $S"
    run() {
      local id=$1
      shift
      grep -qs '"test"' "$OUT/${id}_seed$S/results.json" && return
      "$BIN" train $COMMON "$@" --out "$OUT/${id}_seed$S" --force > "$OUT/${id}_seed$S.log" 2>&1
    }
    run lsq_w$B $Q
    run lsq_br_w$B $Q --method br --teacher "$T/model.lbar"
    run dorefa_w$B $D
    run dorefa_br_w$B $D --method br --teacher "$T/model.lbar" --br-base dorefa
    run kd_w$B $Q --method kd --teacher "$T/model.lbar"
    [ "$B" = 2 ] && run lsq_brsingle_w$B $Q --method br --teacher "$T/model.lbar" --br-replacement single
  done
done
