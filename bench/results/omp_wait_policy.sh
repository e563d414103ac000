#!/usr/bin/env bash
# The OpenMP wait policy measured: one SGD training step (bench_train_step: forward, loss, backward, update; batch
# 128, 2 threads) of LeNet-5 and ResNet-20 with libgomp's default waiting (neither OMP_WAIT_POLICY nor
# GOMP_SPINCOUNT set: idle workers spin ~300k iterations at every barrier; what `lowbit` ran with before, and with
# LOWBIT_OMP_WAIT=keep now) against lowbit's default (OMP_WAIT_POLICY=passive, which the CLI sets by re-executing
# itself: apps/omp_defaults.cpp), with no added load and under a competing load (two busy loops, one per core, at
# the same priority). Policies alternate within each repetition, the first one alternating too; the medians over
# the repetitions go to bench/results/omp_wait_policy.json.
#   bash bench/results/omp_wait_policy.sh [BUILD_DIR]        (REPS=5 to repeat more; default 3)
# Run it on a machine nothing else loads: the grid of this repository's reproduce runs, if one runs here, is best
# paused meanwhile (kill -STOP its pids, kill -CONT afterwards).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$root/build}"
bin="$build/bench/bench_train_step"
reps="${REPS:-3}"
[ -x "$bin" ] || { echo "omp_wait_policy: $bin not built (-DLOWBIT_BUILD_BENCH=ON)" >&2; exit 2; }
out="$root/bench/results/omp_wait_policy.json"
raw="$(mktemp)"
busy=()
cleanup() {
  local p
  for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "$raw" "$raw.one"
}
trap cleanup EXIT

one() {  # condition policy model rep
  local cond="$1" policy="$2" model="$3" rep="$4"
  local env_args=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMP_PROC_BIND)
  [ "$policy" = passive ] && env_args+=(OMP_WAIT_POLICY=passive)
  [ "$policy" = short_spin ] && env_args+=(GOMP_SPINCOUNT=10000)
  "${env_args[@]}" "$bin" --benchmark_filter="^BM_train_step/$model/batch:128/threads:2/" \
    --benchmark_min_time=1 --benchmark_format=json >"$raw.one" 2>/dev/null
  python3 -c '
import json, sys
cond, policy, model, rep, load, path = sys.argv[1:]
b = json.load(open(path))["benchmarks"][0]
assert b["time_unit"] == "ms", b["time_unit"]
print(json.dumps({"condition": cond, "policy": policy, "model": model, "rep": int(rep), "ms_per_step": b["real_time"],
                  "iterations": b["iterations"], "loadavg_1min": float(load)}))
' "$cond" "$policy" "$model" "$rep" "$(cut -d' ' -f1 /proc/loadavg)" "$raw.one" >>"$raw"
  tail -n 1 "$raw"
}

for cond in no_added_load two_busy_loops; do
  if [ "$cond" = two_busy_loops ]; then
    for _ in 1 2; do
      sh -c 'while :; do :; done' &
      busy+=($!)
    done
    sleep 1
  fi
  for rep in $(seq 1 "$reps"); do
    case $((rep % 3)) in  # each policy goes first once every three repetitions
      1) order="spin passive short_spin" ;; 2) order="passive short_spin spin" ;; *) order="short_spin spin passive" ;;
    esac
    for model in lenet5 resnet20; do
      for policy in $order; do one "$cond" "$policy" "$model" "$rep"; done
    done
  done
  if [ "$cond" = two_busy_loops ]; then
    for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
    busy=()
  fi
done

python3 - "$raw" "$out" "$(nproc)" "$("$root/build/apps/lowbit" --version 2>/dev/null | sed -n 's/^isa: //p')" \
  "$(git -C "$root" rev-parse --short=12 HEAD)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)" <<'EOF'
import json, statistics, sys
raw, out, cores, isa, rev, cpu = sys.argv[1:]
rows = [json.loads(l) for l in open(raw) if l.strip()]
table = []
for cond in ("no_added_load", "two_busy_loops"):
    for model in ("lenet5", "resnet20"):
        med = {}
        for policy in ("spin", "passive", "short_spin"):
            v = [r["ms_per_step"] for r in rows if (r["condition"], r["model"], r["policy"]) == (cond, model, policy)]
            med[policy] = statistics.median(v)
        table.append({"condition": cond, "model": model, "spin_ms_median": round(med["spin"], 2),
                      "passive_ms_median": round(med["passive"], 2),
                      "short_spin_ms_median": round(med["short_spin"], 2),
                      "spin_over_passive": round(med["spin"] / med["passive"], 2),
                      "short_spin_over_passive": round(med["short_spin"] / med["passive"], 2)})
loads = {c: [r["loadavg_1min"] for r in rows if r["condition"] == c] for c in ("no_added_load", "two_busy_loops")}
doc = {"what": "ms per SGD training step (bench_train_step BM_train_step, batch 128, 2 threads, real time), libgomp's "
               "default spin-waiting (no OMP_WAIT_POLICY / GOMP_SPINCOUNT: lowbit before, LOWBIT_OMP_WAIT=keep now) vs "
               "OMP_WAIT_POLICY=passive (lowbit's default) vs GOMP_SPINCOUNT=10000 (short_spin: spin ~10k iterations, then sleep), with no added load and with two busy loops competing for the 2 cores",
       "command": "bash bench/results/omp_wait_policy.sh", "machine": {"cpu": cpu, "cores": int(cores), "isa": isa},
       "threads": 2, "git_revision": rev,
       "loadavg_1min": {c: [min(v), max(v)] for c, v in loads.items() if v},
       "repetitions": max(r["rep"] for r in rows), "table": table, "runs": rows}
json.dump(doc, open(out, "w"), indent=1)
print(json.dumps(table, indent=1))
EOF
