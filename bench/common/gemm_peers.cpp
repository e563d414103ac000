#include "bench/common/gemm_peers.h"

#include "bench/common/bench_util.h"
#include "bench/common/peers.h"

namespace lowbit::bench {

#if defined(LOWBIT_HAVE_OPENBLAS)
void BM_peer_openblas_sgemm(benchmark::State& state) {
  const int M = int(state.range(0)), N = int(state.range(1)), K = int(state.range(2)), threads = int(state.range(3));
  auto a = aligned_array<float>(size_t(M) * K), b = aligned_array<float>(size_t(K) * N),
       c = aligned_array<float>(size_t(M) * N);
  fill_random(a.get(), size_t(M) * K, 3);
  fill_random(b.get(), size_t(K) * N, 4);
  for (auto _ : state) {
    if (N == 1)
      peers::openblas_sgemv(M, K, a.get(), b.get(), c.get(), threads);
    else
      peers::openblas_sgemm(M, N, K, a.get(), b.get(), c.get(), threads);
    benchmark::ClobberMemory();
  }
  set_gemm_counters(state, M, N, K, "fp32_fma", threads);
  state.SetLabel(gemm_label("openblas", threads, M, N, K, N == 1 ? "sgemv" : "sgemm"));
}
#endif

#if defined(LOWBIT_HAVE_DNNL)
void BM_peer_dnnl_u8s8s32(benchmark::State& state) {
  const int M = int(state.range(0)), N = int(state.range(1)), K = int(state.range(2)), threads = int(state.range(3));
  auto w = aligned_array<int8_t>(size_t(M) * K);
  auto x = aligned_array<uint8_t>(size_t(N) * K);
  auto c = aligned_array<int32_t>(size_t(M) * N);
  fill_random(w.get(), size_t(M) * K, 1);
  fill_random(x.get(), size_t(N) * K, 2);
  bool ok = true;
  for (auto _ : state) {
    // N = 1: y = W·x with W row-major (GEMV); otherwise C[N×M] = X[N×K] (u8) · Wᵀ, as A·B with B = K×M int8.
    ok &= N == 1 ? peers::dnnl_gemv_s8u8s32(M, K, w.get(), x.get(), c.get(), threads)
                 : peers::dnnl_gemm_u8s8s32(N, M, K, x.get(), w.get(), c.get(), threads);
    benchmark::ClobberMemory();
  }
  if (!ok) state.SkipWithError("oneDNN call failed");
  set_gemm_counters(state, M, N, K, "int8_vnni", threads);
  state.counters["weight_GBps"] =
      benchmark::Counter(double(M) * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(gemm_label("onednn", threads, M, N, K, N == 1 ? "u8s8s32 gemv" : "u8s8s32"));
}
#endif

bool register_gemm_peers(void (*args)(benchmark::internal::Benchmark*)) {
#if defined(LOWBIT_HAVE_DNNL)
  benchmark::RegisterBenchmark("BM_peer_dnnl_u8s8s32", BM_peer_dnnl_u8s8s32)->Apply(args);
#endif
#if defined(LOWBIT_HAVE_OPENBLAS)
  benchmark::RegisterBenchmark("BM_peer_openblas_sgemm", BM_peer_openblas_sgemm)->Apply(args);
#endif
  (void)args;
  return true;
}

}  // namespace lowbit::bench
