#!/usr/bin/env bash
# Runs lowbit's benchmark programs and renders bench/results/README.md.
#
#   scripts/bench.sh [options] [program ...]     program = bgemm | bench_bgemm | ... (default: every
#                                                 bench/bench_<family>.cpp except ceilings, which runs first,
#                                                 and train_step, which scripts/bench_train.sh runs)
# Options:
#   --build-dir DIR   build directory (default $LOWBIT_BUILD_DIR or build)
#   --no-build        use the binaries already in the build directory
#   --threads LIST    thread counts, comma-separated (default 1,2); exported as LOWBIT_BENCH_THREADS
#   --reps N          repetitions per benchmark; the tables use the median (default 5)
#   --min-time S      Google Benchmark --benchmark_min_time, seconds as a plain number (benchmark 1.7; default 0.05)
#   --filter REGEX    passed as --benchmark_filter to every program
#   --skip-ceilings   keep bench/results/ceilings.json instead of re-measuring it
#   --train           also run scripts/bench_train.sh (fp32 training step vs PyTorch)
#   --timeout S       per-program time limit in seconds (default 1800)
#   --spincount N     GOMP_SPINCOUNT for the programs (default 10000; 'default' leaves libgomp's 300000)
#
# Every program runs under `chrt -f 10` when this user may use SCHED_FIFO (else at normal priority, with a
# warning): on a shared 2-CPU machine other jobs otherwise preempt one of the two benchmark threads and the
# 2-thread numbers collapse (see the research note kernels.md §5 in the shared research folder). The 1-minute
# load average is checked before each program and recorded in the JSON context with the one after it.
# libgomp's spin before sleeping is shortened (GOMP_SPINCOUNT=10000): under SCHED_FIFO an idle OpenMP waiter
# that spins for long holds a CPU that another thread of the same run needs (measured 10x slowdowns at 2 threads
# with the default). OMP_PROC_BIND is NOT set here: libgomp then pins the main thread to one CPU at start-up,
# and every pthread it creates later (OpenBLAS's pool, bench_ceilings' workers) inherits that single CPU —
# 2-thread OpenBLAS and ceilings silently ran at the 1-thread rate. (scripts/bench_train.sh pins, because there
# both sides use OpenMP only.)
# Fair peers: the programs (which load OpenBLAS and oneDNN beside our kernels) run with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset, so that OpenBLAS picks its own kernel for this CPU (a machine-wide
# OPENBLAS_CORETYPE=Haswell holds it to its AVX2 kernel on an AVX-512 CPU); each program records
# openblas_get_corename() in its JSON context. Only these processes: tests and CI keep the environment as it is.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

build="${LOWBIT_BUILD_DIR:-build}"
do_build=1
threads="1,2"
reps=5
min_time=0.05
filter=""
skip_ceilings=0
train=0
timeout_s=1800
spincount=10000
programs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) build="$2"; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --min-time) min_time="$2"; shift 2 ;;
    --filter) filter="$2"; shift 2 ;;
    --skip-ceilings) skip_ceilings=1; shift ;;
    --train) train=1; shift ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --spincount) spincount="$2"; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) programs+=("${1#bench_}"); shift ;;
  esac
done
[[ "$reps" =~ ^[0-9]+$ && "$reps" -ge 1 ]] || { echo "bench.sh: --reps must be a positive integer" >&2; exit 2; }
[[ "$threads" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "bench.sh: --threads must look like 1,2" >&2; exit 2; }

results="$root/bench/results"
mkdir -p "$results"

if [[ ${#programs[@]} -eq 0 ]]; then
  for src in bench/bench_*.cpp; do
    name="$(basename "$src" .cpp)"
    name="${name#bench_}"
    [[ "$name" == ceilings || "$name" == train_step ]] && continue
    programs+=("$name")
  done
fi

# ---- priority and load ----
rt=()
if chrt -f 10 true 2>/dev/null; then
  rt=(chrt -f 10)
  rt_note="chrt -f 10"
else
  rt_note="normal priority (chrt -f 10 not permitted)"
  echo "bench.sh: warning: cannot use SCHED_FIFO (chrt -f 10); 2-thread figures will be noisy on a shared machine" >&2
fi
ncpu="$(nproc)"
check_load() {
  local load1 others
  load1="$(cut -d' ' -f1 /proc/loadavg)"
  # Other user processes at real-time priority take the CPUs from us (same priority: no time slicing).
  others="$(ps -eo pid=,cls=,comm= | awk -v me=$$ '($2=="FF"||$2=="RR") && $3 !~ /^(migration|watchdog|irq|rcu|ksoftirq|cpuhp|idle_inject)/ && $1!=me {print $3"("$1")"}' | tr '\n' ' ')"
  if [[ -n "$others" ]]; then
    echo "bench.sh: warning: other real-time processes are running ($others); results of $1 will be disturbed" >&2
  fi
  if awk -v l="$load1" -v n="$ncpu" 'BEGIN { exit !(l > 0.5 * n) }'; then
    echo "bench.sh: warning: load average $load1 on $ncpu CPUs before $1; other jobs compete for the cores" \
         "(${rt_note})" >&2
  fi
}

# ---- build ----
if [[ $do_build -eq 1 ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOWBIT_BUILD_BENCH=ON >/dev/null
  targets=(bench_ceilings)
  for p in "${programs[@]}"; do targets+=("bench_$p"); done
  for t in "${targets[@]}"; do
    if ! cmake --build "$build" --target "$t" -j "$ncpu" >/tmp/lowbit_bench_build_$$.log 2>&1; then
      echo "bench.sh: warning: building $t failed (log: /tmp/lowbit_bench_build_$$.log); skipping it" >&2
    fi
  done
fi

export LOWBIT_BENCH_THREADS="$threads"
if [[ "$spincount" != default ]]; then
  export GOMP_SPINCOUNT="$spincount"
  rt_note="$rt_note; GOMP_SPINCOUNT $spincount"
fi
# The peer processes' environment: OpenBLAS chooses its kernel for this CPU (see the header).
peer_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
caller_openblas="OPENBLAS_CORETYPE ${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE ${OPENBLAS_L2_SIZE:-unset}"
if [[ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]]; then
  echo "bench.sh: note: ignoring $caller_openblas for the benchmark programs (OpenBLAS picks its own kernel)" >&2
fi
if [[ -n "${OMP_PROC_BIND:-}" ]]; then
  echo "bench.sh: warning: OMP_PROC_BIND=$OMP_PROC_BIND is set: pthreads created by the programs (OpenBLAS's pool) inherit the main thread's single CPU" >&2
fi

# ---- ceilings first: every pct_ceiling counter divides by them ----
if [[ $skip_ceilings -eq 0 ]]; then
  if [[ -x "$build/bench/bench_ceilings" ]]; then
    check_load bench_ceilings
    echo "== bench_ceilings ($rt_note)"
    "${peer_env[@]}" -u OMP_PROC_BIND -u OMP_PLACES "${rt[@]}" "$build/bench/bench_ceilings" \
      --out="$results/ceilings.json"
  else
    echo "bench.sh: warning: $build/bench/bench_ceilings missing; keeping the old ceilings.json" >&2
  fi
fi

# ---- the benchmark programs ----
for p in "${programs[@]}"; do
  bin="$build/bench/bench_$p"
  if [[ ! -x "$bin" ]]; then
    echo "bench.sh: warning: $bin not built; skipped" >&2
    continue
  fi
  check_load "bench_$p"
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  args=(--benchmark_repetitions="$reps" --benchmark_min_time="$min_time"
        --benchmark_display_aggregates_only=true --benchmark_out_format=json
        --benchmark_out="$results/bench_$p.json.tmp"
        --benchmark_context="loadavg_before=${load_before//=/ },priority=${rt_note//[=,]/ },bench_reps=$reps,caller_openblas_env=${caller_openblas//[=,]/ }")
  [[ -n "$filter" ]] && args+=(--benchmark_filter="$filter")
  echo "== bench_$p (threads $threads, $reps reps, $rt_note)"
  if timeout "$timeout_s" "${peer_env[@]}" "${rt[@]}" "$bin" "${args[@]}"; then
    # The load after the run goes into the JSON context next to the load before it.
    /usr/bin/python3 - "$results/bench_$p.json.tmp" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
path, load = sys.argv[1], sys.argv[2]
with open(path) as f:
    data = json.load(f)
data.setdefault("context", {})["loadavg_after"] = load
with open(path, "w") as f:
    json.dump(data, f, indent=2)
    f.write("\n")
PY
    mv "$results/bench_$p.json.tmp" "$results/bench_$p.json"
  else
    echo "bench.sh: warning: bench_$p failed or timed out; its old results are kept" >&2
    rm -f "$results/bench_$p.json.tmp"
  fi
done

if [[ $train -eq 1 ]]; then
  train_args=(--build-dir "$build" --threads "$threads")
  [[ $do_build -eq 0 ]] && train_args+=(--no-build)
  [[ "$spincount" != default ]] && train_args+=(--spincount "$spincount")
  bash "$root/scripts/bench_train.sh" "${train_args[@]}" || echo "bench.sh: warning: bench_train.sh failed" >&2
fi

/usr/bin/python3 "$root/bench/tools/results_table.py" --results "$results" --out "$results/README.md"
echo "wrote $results/README.md"
