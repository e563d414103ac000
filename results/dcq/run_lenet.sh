#!/bin/sh
# The LeNet-5 cells of lab/grids/dcq.json, run with `lowbit train` one by one (the grid runner's per-seed
# teachers were not on main when these ran). Resumable: a finished run (model.lbar present) is skipped, an
# interrupted one continues from its checkpoint.
#   LOWBIT=build/apps/lowbit LOWBIT_DATA=... nice -n 5 sh results/dcq/run_lenet.sh OUTDIR [SEEDS] [DATASETS]
set -eu
out=${1:?output directory}
seeds=${2:-"1 2 3"}
datasets=${3:-"mnist fashion-mnist"}
lowbit=${LOWBIT:-build/apps/lowbit}
common="--model lenet5 --threads 2 --no-progress --log-every 1000"
E=3   # every cell's budget (epochs); DCQ = 2 phase-1 epochs + 1 fine-tuning epoch
run() {  # run NAME ARGS...
  name=$1; shift
  dir="$out/runs/$name"
  if [ -f "$dir/model.lbar" ]; then return; fi
  if [ -f "$dir/checkpoint.lbar" ]; then "$lowbit" train $common "$@" --out "$dir" --resume; else "$lowbit" train $common "$@" --out "$dir"; fi
}
for seed in $seeds; do
  for ds in $datasets; do
    d=$(echo "$ds" | sed 's/fashion-mnist/fmnist/')
    t="$out/runs/teacher_lenet5_${d}_seed$seed"
    run "teacher_lenet5_${d}_seed$seed" --dataset "$ds" --seed "$seed" --epochs 10
    T="$t/model.lbar"
    for prec in "w1a8:--quant dorefa --wbits 1 --abits 8" "wta8:--quant twn --wbits 2 --abits 8"; do
      p=${prec%%:*}; q=${prec#*:}
      base="--dataset $ds --seed $seed --epochs $E --init $T $q"
      run "lenet5_${d}_dorefa_${p}_seed$seed" $base
      run "lenet5_${d}_kd_${p}_seed$seed" $base --method kd --teacher "$T"
      run "lenet5_${d}_dcq1_${p}_seed$seed" $base --method dcq --teacher "$T" --dcq-teacher-activation bound
      run "lenet5_${d}_dcq_${p}_seed$seed" $base --method dcq --teacher "$T" --dcq-teacher-activation bound \
        --dcq-phase1-epochs 2
    done
    base="--dataset $ds --seed $seed --epochs $E --init $T --quant lsq --wbits 2 --abits 8"
    run "lenet5_${d}_lsq_w2a8_seed$seed" $base
    run "lenet5_${d}_dcqlsq_w2a8_seed$seed" $base --method dcq --teacher "$T" --dcq-phase1-epochs 2
  done
done
