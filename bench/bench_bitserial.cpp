// bitserial: k-bit weights × m-bit activations on bit planes (DoReFa-style codes) vs oneDNN u8s8s32 (int8) and
// OpenBLAS sgemm on the same M×N×K, same binary.
//
// Widths W1A2, W2A2, W2A3, W2A4, W4A4 (wbits, xbits) on 1024³, 4096×512×4096 and the conv shapes of
// kernels.md §3. GOPS = 2·M·N·K / s counting logical MACs (a W2A2 MAC costs 4 popcount bit-products).
// pct_ceiling is against binary_xor_popcnt (binary_avx2_lut for AVX2 rows), so the ideal for W_wA_a is
// 100/(w·a) %. The DoReFa float output (bitserial_dorefa_f32) is what a layer runs; the int32 raw dot is also
// listed at W2A2.
//
// Run: build-*/bench/bench_bitserial --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Ratio of interest: W2A2 dorefa_f32 median vs BM_peer_dnnl_u8s8s32 median at the same {M, N, K, threads}.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/gemm_peers.h"
#include "kernels/bitserial/bitserial.h"
#include "kernels/pack/pack_planes.h"

namespace {

using namespace lowbit;
using kernels::bword;

const std::vector<bench::GemmShape>& shapes() {
  static const std::vector<bench::GemmShape> s = {
      {1024, 1024, 1024}, {4096, 512, 4096}, {64, 1024, 576}, {256, 196, 2304}, {128, 3136, 1152},
  };
  return s;
}

struct Codes {
  size_t ld;
  bench::AlignedArray<bword> planes;
  std::vector<int32_t> sums;
  Codes(size_t rows, size_t k, int bits, uint64_t seed) : ld(size_t(bits) * kernels::packed_words(k)), sums(rows) {
    std::vector<uint8_t> v(rows * k);
    bench::fill_random(v.data(), v.size(), seed, 0, (1 << bits) - 1);
    planes = bench::aligned_array<bword>(rows * ld);
    kernels::pack_bit_planes(v.data(), rows, k, k, bits, planes.get(), ld);
    kernels::bit_plane_code_sums(planes.get(), rows, k, ld, bits, sums.data());
  }
};

void run_bitserial(benchmark::State& state, kernels::Isa isa, bool f32) {
  const kernels::BitserialKernels* t = kernels::bitserial_kernels_for(isa);
  if (!t) {
    state.SkipWithError("ISA not supported on this CPU/build");
    return;
  }
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const int wb = int(state.range(3)), xb = int(state.range(4)), threads = int(state.range(5));
  Codes w(size_t(M), size_t(K), wb, 1), x(size_t(N), size_t(K), xb, 2);
  std::vector<float> scale(size_t(M), 0.5f), bias(size_t(M), 0.1f);
  auto c = bench::aligned_array<int32_t>(size_t(M * N));
  auto cf = bench::aligned_array<float>(size_t(M * N));
  for (auto _ : state) {
    if (f32)
      t->dorefa_f32(M, N, K, wb, w.planes.get(), w.ld, xb, x.planes.get(), x.ld, x.sums.data(), scale.data(),
                    bias.data(), cf.get(), N, threads);
    else
      t->i32(M, N, K, wb, w.planes.get(), w.ld, xb, x.planes.get(), x.ld, c.get(), N, threads);
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, isa == kernels::Isa::avx2 ? "binary_avx2_lut" : "binary_xor_popcnt", threads);
  state.SetLabel(bench::gemm_label(isa, threads, M, N, K,
                                   "W" + std::to_string(wb) + "A" + std::to_string(xb) + (f32 ? " dorefa_f32" : " i32")));
}

void width_args(benchmark::internal::Benchmark* b, const std::vector<std::pair<int, int>>& widths) {
  std::vector<std::vector<int64_t>> rows;
  for (const auto& s : shapes())
    for (const auto& wx : widths) rows.push_back({s.M, s.N, s.K, wx.first, wx.second});
  bench::add_args_with_threads(b, {"M", "N", "K", "wbits", "xbits"}, rows);
}

void BM_bitserial_dorefa_f32_avx512(benchmark::State& s) { run_bitserial(s, kernels::Isa::avx512, true); }
void BM_bitserial_i32_avx512(benchmark::State& s) { run_bitserial(s, kernels::Isa::avx512, false); }
void BM_bitserial_dorefa_f32_avx2(benchmark::State& s) { run_bitserial(s, kernels::Isa::avx2, true); }
BENCHMARK(BM_bitserial_dorefa_f32_avx512)->Apply([](benchmark::internal::Benchmark* b) {
  width_args(b, {{1, 2}, {2, 2}, {2, 3}, {2, 4}, {4, 4}});
});
BENCHMARK(BM_bitserial_i32_avx512)->Apply([](benchmark::internal::Benchmark* b) { width_args(b, {{2, 2}}); });
BENCHMARK(BM_bitserial_dorefa_f32_avx2)->Apply([](benchmark::internal::Benchmark* b) { width_args(b, {{2, 2}}); });

void gemm_args(benchmark::internal::Benchmark* b) { bench::add_gemm_args(b, shapes()); }

[[maybe_unused]] const bool kPeersRegistered = bench::register_gemm_peers(gemm_args);  // bench/common/gemm_peers.h

}  // namespace

LOWBIT_BENCH_MAIN();
