#!/usr/bin/env bash
# The main job, end to end from a fresh clone: set up (Debian packages + data), build lowbit (Release, into
# build/), train LeNet-5 on Fashion-MNIST for a few epochs and print its test accuracy.
#   bash scripts/demo.sh                 10 epochs (about 4 s each on an idle 2-core Zen 4; ~91.5% test top-1)
#   EPOCHS=3 bash scripts/demo.sh        fewer epochs
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
epochs="${EPOCHS:-10}"
build="${LOWBIT_BUILD_DIR:-build}"

bash scripts/setup.sh
echo "demo: building lowbit (Release) in $build/ (a few minutes on 2 cores the first time; one line per step)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target lowbit -j "$(nproc)"

echo "demo: training LeNet-5 on Fashion-MNIST for $epochs epochs (validation = the official test split)"
# --force: each demo run replaces the previous demo's output directory.
"$build/apps/lowbit" train --model lenet5 --dataset fashion-mnist --epochs "$epochs" --batch 128 \
  --optimizer sgd --lr 0.05 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --seed 1 \
  --out runs/demo --force
echo "demo: metrics in runs/demo/metrics.csv, results in runs/demo/results.json, model in runs/demo/model.lbar"
"$build/apps/lowbit" eval --checkpoint runs/demo/model.lbar
