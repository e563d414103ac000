// tgemm: ternary weights × binary (t2b1) or ternary (t2t2) activations, bit planes, vs fp32 sgemm (OpenBLAS)
// and int8 (oneDNN u8s8s32) on the same shapes in the same binary.
//
// Shapes (M = output channels, N = pixels/tokens, K = inputs in elements = bits per plane): 1024³, the LLM-style
// 4096×512×4096, GEMV 4096×1×4096, and the conv layers of kernels.md §3 written as GEMMs (64×1024×576,
// 256×196×2304, 128×3136×1152) plus ResNet-20's 32×256×288. GOPS = 2·M·N·K / s (one ternary MAC = one k
// position). pct_ceiling vs binary_xor_popcnt (binary_avx2_lut for AVX2 rows): t2b1 runs the same 3-op loop as
// XNOR-popcount, t2t2 about twice as many ops (its ideal is ~50%).
//
// Run: build-*/bench/bench_tgemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/gemm_peers.h"
#include "kernels/pack/pack_planes.h"
#include "kernels/tgemm/tgemm.h"

namespace {

using namespace lowbit;
using kernels::bword;

const std::vector<bench::GemmShape>& shapes() {
  static const std::vector<bench::GemmShape> s = {
      {1024, 1024, 1024}, {4096, 512, 4096}, {4096, 1, 4096}, {64, 1024, 576},
      {256, 196, 2304},   {128, 3136, 1152}, {32, 256, 288},
  };
  return s;
}

struct Planes {
  size_t ld;
  bench::AlignedArray<bword> mask, sign;
  std::vector<int32_t> nnz;
  Planes(size_t rows, size_t k, uint64_t seed, bool binary) : ld(kernels::packed_words(k)), nnz(rows) {
    std::vector<int8_t> v(rows * k);
    bench::fill_random(v.data(), v.size(), seed, -1, 1);
    if (binary)
      for (auto& x : v) x = x == 0 ? 1 : x;
    mask = bench::aligned_array<bword>(rows * ld);
    sign = bench::aligned_array<bword>(rows * ld);
    kernels::pack_ternary_planes(v.data(), rows, k, k, mask.get(), sign.get(), ld);
    kernels::plane_popcounts(mask.get(), rows, k, ld, nnz.data());
  }
};

enum class Kind { t2b1_i32, t2b1_f32, t2t2_i32 };

void run_tgemm(benchmark::State& state, kernels::Isa isa, Kind kind) {
  const kernels::TgemmKernels* t = kernels::tgemm_kernels_for(isa);
  if (!t) {
    state.SkipWithError("ISA not supported on this CPU/build");
    return;
  }
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const int threads = int(state.range(3));
  Planes w(size_t(M), size_t(K), 1, false), x(size_t(N), size_t(K), 2, kind != Kind::t2t2_i32);
  std::vector<float> scale(size_t(M), 0.01f), bias(size_t(M), 0.5f);
  auto c = bench::aligned_array<int32_t>(size_t(M * N));
  auto cf = bench::aligned_array<float>(size_t(M * N));
  for (auto _ : state) {
    switch (kind) {
      case Kind::t2b1_i32:
        t->t2b1_i32(M, N, K, w.mask.get(), w.sign.get(), w.ld, w.nnz.data(), x.sign.get(), x.ld, c.get(), N, threads);
        break;
      case Kind::t2b1_f32:
        t->t2b1_f32(M, N, K, w.mask.get(), w.sign.get(), w.ld, w.nnz.data(), x.sign.get(), x.ld, scale.data(),
                    bias.data(), cf.get(), N, threads);
        break;
      case Kind::t2t2_i32:
        t->t2t2_i32(M, N, K, w.mask.get(), w.sign.get(), w.ld, x.mask.get(), x.sign.get(), x.ld, c.get(), N, threads);
        break;
    }
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, isa == kernels::Isa::avx2 ? "binary_avx2_lut" : "binary_xor_popcnt", threads);
  const char* names[] = {"t2b1 out=i32", "t2b1 out=f32(scale,bias)", "t2t2 out=i32"};
  state.SetLabel(bench::gemm_label(isa, threads, M, N, K, names[int(kind)]));
}

void gemm_args(benchmark::internal::Benchmark* b) { bench::add_gemm_args(b, shapes()); }

void BM_tgemm_t2b1_i32_avx512(benchmark::State& s) { run_tgemm(s, kernels::Isa::avx512, Kind::t2b1_i32); }
void BM_tgemm_t2b1_f32_avx512(benchmark::State& s) { run_tgemm(s, kernels::Isa::avx512, Kind::t2b1_f32); }
void BM_tgemm_t2t2_i32_avx512(benchmark::State& s) { run_tgemm(s, kernels::Isa::avx512, Kind::t2t2_i32); }
void BM_tgemm_t2b1_i32_avx2(benchmark::State& s) { run_tgemm(s, kernels::Isa::avx2, Kind::t2b1_i32); }
void BM_tgemm_t2t2_i32_avx2(benchmark::State& s) { run_tgemm(s, kernels::Isa::avx2, Kind::t2t2_i32); }
BENCHMARK(BM_tgemm_t2b1_i32_avx512)->Apply(gemm_args);
BENCHMARK(BM_tgemm_t2b1_f32_avx512)->Apply(gemm_args);
BENCHMARK(BM_tgemm_t2t2_i32_avx512)->Apply(gemm_args);
BENCHMARK(BM_tgemm_t2b1_i32_avx2)->Apply(gemm_args);
BENCHMARK(BM_tgemm_t2t2_i32_avx2)->Apply(gemm_args);

[[maybe_unused]] const bool kPeersRegistered = bench::register_gemm_peers(gemm_args);  // bench/common/gemm_peers.h

}  // namespace

LOWBIT_BENCH_MAIN();
