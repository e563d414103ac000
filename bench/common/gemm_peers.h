// The same-run GEMM baselines of the low-bit GEMM benches (bench/bench_qgemm.cpp, bench/bench_tgemm.cpp,
// bench/bench_bitserial.cpp): one body each, registered by every program over its own shapes with
//   [[maybe_unused]] const bool kPeersRegistered = lowbit::bench::register_gemm_peers(gemm_args);
// (gemm_args: the program's {M, N, K, threads} rows, bench::add_gemm_args()), so that the rows keep the names
// bench/tools/results_table.py pairs with the kernel rows of the same arguments. Each peer exists only when this
// build links it (LOWBIT_HAVE_OPENBLAS, LOWBIT_HAVE_DNNL).
#pragma once

#include <benchmark/benchmark.h>

namespace lowbit::bench {

// Registers BM_peer_dnnl_u8s8s32 and BM_peer_openblas_sgemm (those this build has) with argument rows `args`.
// Returns true, for use in a namespace-scope initialiser (as BENCHMARK() registers).
bool register_gemm_peers(void (*args)(benchmark::internal::Benchmark*));

#if defined(LOWBIT_HAVE_OPENBLAS)
// fp32 C[M×N] = A[M×K]·B[K×N] with cblas_sgemm (cblas_sgemv at N = 1), counters against fp32_fma.
void BM_peer_openblas_sgemm(benchmark::State& state);
#endif

#if defined(LOWBIT_HAVE_DNNL)
// The same M×N×K integer product with oneDNN: dnnl_gemm_u8s8s32 (activations u8 × weights s8), the GEMV form
// dnnl_gemv_s8u8s32 at N = 1; counters against int8_vnni plus weight_GBps (int8 weight bytes streamed per second).
void BM_peer_dnnl_u8s8s32(benchmark::State& state);
#endif

}  // namespace lowbit::bench
