// qgemm: int2 (ternary) / int4 / int8 weights × uint8 / int8 activations vs oneDNN dnnl_gemm_u8s8s32 and
// OpenBLAS sgemm, same shapes, same binary.
//
// Shapes (M = output channels, N = tokens/pixels, K = inputs): the LLM-style GEMM at N = 512 (4096×512×4096),
// GEMV decode steps N = 1 at 4096×4096 (L3-resident for ≤ 4-bit weights) and 16384×8192 (weights stream from
// DRAM), a small batch 4096×8×4096, 1024³ and the conv shapes of kernels.md §3 (64×1024×576, 256×196×2304,
// 128×3136×1152). Weights are packed once before timing (load-time work); activations are used as given.
// GOPS = 2·M·N·K / s. pct_ceiling is against int8_vnni (int8_avx2 for the AVX2 rows). GEMV rows also report
// weight_GBps (packed weight bytes streamed per second).
//
// Peers: oneDNN u8s8s32 computes the same M×N×K integer product (A = activations u8, B = weights s8; at N = 1
// the GEMV form with W row-major); OpenBLAS sgemm is the fp32 product.
//
// Run: build-*/bench/bench_qgemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Ratios: compare medians of BM_qgemm_* with BM_peer_dnnl_u8s8s32 at the same {M, N, K, threads} row.
#include <benchmark/benchmark.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/gemm_peers.h"
#include "kernels/pack/pack_nibbles.h"
#include "kernels/qgemm/qgemm.h"

namespace {

using namespace lowbit;
using kernels::QAct;
using kernels::QWeight;

const std::vector<bench::GemmShape>& shapes() {
  static const std::vector<bench::GemmShape> s = {
      {4096, 512, 4096}, {4096, 1, 4096}, {16384, 1, 8192}, {4096, 8, 4096},
      {1024, 1024, 1024}, {64, 1024, 576}, {256, 196, 2304}, {128, 3136, 1152},
  };
  return s;
}

struct Problem {
  size_t M, N, K;
  bench::AlignedArray<uint8_t> data, x;
  std::vector<int32_t> wsum;
  std::vector<float> scale, bias;
  kernels::QgemmWeights w;
  Problem(QWeight wt, QAct xt, int64_t m, int64_t n, int64_t k)
      : M(size_t(m)), N(size_t(n)), K(size_t(k)), wsum(kernels::qgemm_panels(M) * kernels::kQgemmPanelRows),
        scale(M, 0.01f), bias(M, 0.5f) {
    std::vector<int8_t> vals(M * K);
    const int lo = wt == QWeight::i2 ? -1 : wt == QWeight::i4 ? -8 : -128;
    const int hi = wt == QWeight::i2 ? 1 : wt == QWeight::i4 ? 7 : 127;
    bench::fill_random(vals.data(), vals.size(), 1, lo, hi);
    const size_t lds = wt == QWeight::i2 ? kernels::packed_bytes_i2(K) : wt == QWeight::i4 ? kernels::packed_bytes_i4(K) : K;
    std::vector<uint8_t> canon(M * lds);
    if (wt == QWeight::i2) kernels::pack_i2(vals.data(), M, K, K, canon.data(), lds);
    if (wt == QWeight::i4) kernels::pack_i4(vals.data(), M, K, K, canon.data(), lds);
    if (wt == QWeight::i8) std::memcpy(canon.data(), vals.data(), M * K);
    const size_t bytes = kernels::qgemm_packed_bytes(wt, M, K);
    data = bench::aligned_array<uint8_t>(bytes);
    if (kernels::qgemm_pack_weights(wt, xt, canon.data(), M, K, lds, data.get(), bytes, wsum.data(), &w) !=
        kernels::Status::ok)
      throw std::runtime_error("qgemm_pack_weights failed");
    x = bench::aligned_array<uint8_t>(N * K);
    bench::fill_random(x.get(), N * K, 2);
  }
};

void run_qgemm(benchmark::State& state, kernels::Isa isa, QWeight wt, QAct xt, bool f32) {
  const kernels::QgemmKernels* t = kernels::qgemm_kernels_for(isa);
  if (!t) {
    state.SkipWithError("ISA not supported on this CPU/build");
    return;
  }
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  Problem p(wt, xt, M, N, K);
  auto c32 = bench::aligned_array<int32_t>(size_t(M * N));
  auto cf = bench::aligned_array<float>(size_t(M * N));
  const int wi = static_cast<int>(wt);
  const int32_t zp = xt == QAct::u8 ? 128 : 0;
  for (auto _ : state) {
    if (f32)
      t->f32[wi](p.w, p.N, p.x.get(), p.K, zp, p.scale.data(), p.bias.data(), cf.get(), p.N, threads);
    else
      t->i32[wi](p.w, p.N, p.x.get(), p.K, zp, c32.get(), p.N, threads);
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, isa == kernels::Isa::avx2 ? "int8_avx2" : "int8_vnni", threads);
  const double wbytes = double(kernels::qgemm_packed_bytes(wt, p.M, p.K));
  state.counters["weight_GBps"] =
      benchmark::Counter(wbytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  const char* wn[] = {"w=i2", "w=i4", "w=i8"};
  state.SetLabel(bench::gemm_label(isa, threads, M, N, K,
                                   std::string(wn[wi]) + (xt == QAct::u8 ? " x=u8" : " x=s8") + (f32 ? " out=f32" : " out=i32")));
}

void gemm_args(benchmark::internal::Benchmark* b) { bench::add_gemm_args(b, shapes()); }

#define LOWBIT_QGEMM_BENCH(isa, wt, xt, f32, name)                                                        \
  void BM_qgemm_##name(benchmark::State& s) { run_qgemm(s, kernels::Isa::isa, QWeight::wt, QAct::xt, f32); } \
  BENCHMARK(BM_qgemm_##name)->Apply(gemm_args);

LOWBIT_QGEMM_BENCH(avx512, i2, s8, false, i2s8_i32_avx512vnni)
LOWBIT_QGEMM_BENCH(avx512, i2, u8, false, i2u8_i32_avx512vnni)
LOWBIT_QGEMM_BENCH(avx512, i4, u8, false, i4u8_i32_avx512vnni)
LOWBIT_QGEMM_BENCH(avx512, i8, u8, false, i8u8_i32_avx512vnni)
LOWBIT_QGEMM_BENCH(avx512, i2, s8, true, i2s8_f32_avx512vnni)
LOWBIT_QGEMM_BENCH(avx2, i2, s8, false, i2s8_i32_avx2)
LOWBIT_QGEMM_BENCH(avx2, i4, u8, false, i4u8_i32_avx2)
LOWBIT_QGEMM_BENCH(avx2, i8, u8, false, i8u8_i32_avx2)

[[maybe_unused]] const bool kPeersRegistered = bench::register_gemm_peers(gemm_args);  // bench/common/gemm_peers.h

}  // namespace

LOWBIT_BENCH_MAIN();
