// Shared helpers for the lowbit Google Benchmark programs (bench/bench_*.cpp): counters, labels, this machine's
// measured ceilings, argument grids with thread counts, aligned buffers, seeded random fill, and the machine
// context written into every JSON result.
//
// Unit convention (binding for every counter, see bench/README.md):
//   GOPS = 2 · MACs / s / 1e9 for every data type. For binary kernels one MAC is one bit position of an
//   XOR(or XNOR)+popcount, so a W1A1 GEMM of M×N×K (K in bits) is 2·M·N·K ops, like an fp32 GEMM.
//   Memory-bound kernels may instead be compared with a bandwidth ceiling ("dram_read", GB/s): then the
//   amount per iteration passed to set_pct_ceiling() is BYTES moved, not ops.
//
// Typical use in bench/bench_<family>.cpp:
//
//   static void BM_bgemm(benchmark::State& state) {
//     const int M = state.range(0), N = state.range(1), K = state.range(2), t = state.range(3);
//     ... set up with lowbit::bench::aligned_array<uint64_t>() and fill_random() ...
//     for (auto _ : state) { kernel(...); benchmark::ClobberMemory(); }
//     lowbit::bench::set_gemm_counters(state, M, N, K, "binary_xor_popcnt", t);
//     state.SetLabel(lowbit::bench::gemm_label(lowbit::kernels::active_isa(), t, M, N, K));
//   }
//   BENCHMARK(BM_bgemm)->Apply([](benchmark::internal::Benchmark* b) {
//     lowbit::bench::add_gemm_args(b, {{256, 256, 1024}, {64, 1024, 576}});
//   });
//   LOWBIT_BENCH_MAIN();
//
// Baselines that belong in the same table must be named BM_peer_<library>_<op> and registered with the
// same argument names and values as the kernel they are compared with; bench/tools/results_table.py pairs
// rows by their argument string and prints GOPS(kernel) / GOPS(peer).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kernels/isa.h"

namespace lowbit::bench {

// ---- counters -----------------------------------------------------------------------------------------

// Sets counter "GOPS" = ops_per_iteration · iterations / elapsed / 1e9. Rates are taken over the time the
// benchmark measures; register benchmarks with ->UseRealTime() (add_*_args() does) so that multi-threaded
// kernels are measured on the wall clock, not on the main thread's CPU time.
void set_gops(benchmark::State& state, double ops_per_iteration);

// This machine's measured ceiling of `kind` at `threads` threads, read once from ceilings.json (see
// ceilings_path()). Units: GOPS for compute kinds, GB/s for the read-bandwidth kinds. Returns 0 if the file,
// the kind or the thread count is absent. Kinds written by bench_ceilings:
//   fp32_fma, binary_xor_popcnt, binary_avx2_lut, int8_vnni, int8_avx2   (GOPS)
//   read_l1, read_l2, read_l3, dram_read                                 (GB/s)
double ceiling(const std::string& kind, int threads);
// Where the ceilings are read from: $LOWBIT_CEILINGS if set, else bench/results/ceilings.json of the source
// tree (compile definition LOWBIT_BENCH_CEILINGS_JSON).
std::string ceilings_path();

// Sets counter "pct_ceiling" = 100 · (amount_per_iteration · iterations / elapsed) / ceiling(kind, threads),
// with amount in ops (compute kinds) or bytes (bandwidth kinds). The counter is 0 if the ceiling is unknown.
void set_pct_ceiling(benchmark::State& state, double amount_per_iteration, const std::string& kind, int threads);

// GOPS and pct_ceiling for a GEMM-like kernel of 2·M·N·K ops per iteration (K in bits for binary kernels).
void set_gemm_counters(benchmark::State& state, int64_t M, int64_t N, int64_t K, const std::string& kind,
                       int threads);

// ---- labels ---------------------------------------------------------------------------------------------

// "isa=avx512 threads=2 1024x1024x1024" (plus " <extra>" if extra is non-empty). ASCII 'x' on purpose.
std::string gemm_label(const char* isa, int threads, int64_t M, int64_t N, int64_t K, const std::string& extra = "");
std::string gemm_label(kernels::Isa isa, int threads, int64_t M, int64_t N, int64_t K,
                       const std::string& extra = "");
// Free-form shape: "isa=avx512 threads=1 <shape>".
std::string label(const char* isa, int threads, const std::string& shape);
std::string label(kernels::Isa isa, int threads, const std::string& shape);

// ---- argument grids ---------------------------------------------------------------------------------------

// Thread counts to benchmark: $LOWBIT_BENCH_THREADS as a comma list ("1,2"), default "1,2"; values above the
// number of online CPUs are dropped (a warning goes to stderr once).
const std::vector<int>& thread_counts();

struct GemmShape {
  int64_t M, N, K;
};
// Adds one {M, N, K, threads} argument row per shape × thread_counts(), names them M/N/K/threads and switches
// the benchmark to real time. Use with ->Apply().
void add_gemm_args(benchmark::internal::Benchmark* b, const std::vector<GemmShape>& shapes);
// Same for any argument list: every row gets a trailing "threads" argument; names = arg_names + "threads".
void add_args_with_threads(benchmark::internal::Benchmark* b, const std::vector<std::string>& arg_names,
                           const std::vector<std::vector<int64_t>>& rows);

// ---- buffers ----------------------------------------------------------------------------------------------

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
template <class T>
using AlignedArray = std::unique_ptr<T[], FreeDeleter>;

// Zero-initialised array of n elements, 64-byte aligned, followed by `slack_bytes` of zeroed slack so that
// kernels allowed to over-read (kernels::kPackedOverreadBytes) stay inside the allocation. Throws
// std::bad_alloc on failure.
void* aligned_zeroed(size_t bytes, size_t slack_bytes);
template <class T>
AlignedArray<T> aligned_array(size_t n, size_t slack_bytes = 64) {
  return AlignedArray<T>(static_cast<T*>(aligned_zeroed(n * sizeof(T), slack_bytes)));
}

// Seeded random fill (std::mt19937_64; the same seed gives the same data on every machine).
void fill_random(float* p, size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
void fill_random(int8_t* p, size_t n, uint64_t seed, int lo = -128, int hi = 127);
void fill_random(uint8_t* p, size_t n, uint64_t seed, int lo = 0, int hi = 255);
void fill_random(uint64_t* p, size_t n, uint64_t seed);  // all 64 bits random

// ---- machine context --------------------------------------------------------------------------------------

// Adds to the Google Benchmark context (JSON "context" object): lowbit_version, git_revision, compiler,
// build_type, cpu_model, cpu_flags_simd (the SIMD subset of /proc/cpuinfo flags), lowbit_isa (active_isa()),
// lowbit_isa_env ($LOWBIT_ISA or "unset"), omp_max_threads, bench_threads, ceilings_file, peers (which
// baselines this binary links). Call once before RunSpecifiedBenchmarks (LOWBIT_BENCH_MAIN does).
void add_machine_context();
std::string cpu_model();       // "model name" of /proc/cpuinfo (or "unknown")
std::string cpu_simd_flags();  // the SIMD-relevant subset of the /proc/cpuinfo flags, space-separated

}  // namespace lowbit::bench

// Drop-in replacement for BENCHMARK_MAIN() that records the machine context first.
#define LOWBIT_BENCH_MAIN()                                                 \
  int main(int argc, char** argv) {                                         \
    ::benchmark::Initialize(&argc, argv);                                   \
    if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;     \
    ::lowbit::bench::add_machine_context();                                 \
    ::benchmark::RunSpecifiedBenchmarks();                                  \
    ::benchmark::Shutdown();                                                \
    return 0;                                                               \
  }                                                                         \
  static_assert(true, "LOWBIT_BENCH_MAIN needs a trailing semicolon")
