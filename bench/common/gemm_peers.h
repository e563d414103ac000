// The same-run GEMM baselines of the low-bit GEMM benches (bench/qgemm.cpp, bench/tgemm.cpp,
// bench/bitserial.cpp): one body each, registered by every program over its own shapes, e.g.
//   using lowbit::bench::BM_peer_openblas_sgemm;
//   BENCHMARK(BM_peer_openblas_sgemm)->Apply(gemm_args);       // args {M, N, K, threads}: add_gemm_args()
// so that the rows keep the name bench/tools/results_table.py pairs with the kernel rows of the same arguments.
// Each exists only when this build links the peer (LOWBIT_HAVE_OPENBLAS, LOWBIT_HAVE_DNNL).
#pragma once

#include <benchmark/benchmark.h>

namespace lowbit::bench {

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
