// bgemm W1A1 throughput vs the fp32 GEMM a user would otherwise run, same shapes, same binary.
//
// Shapes: 1024³ and the binary conv layers of LeNet-5, ResNet-20 (CIFAR) and VGG-small written as GEMMs
// (M = output channels, N = output pixels, K = KH·KW·Cin bits), plus 256×196×2304 and 128×3136×1152.
// GOPS = 2·M·N·K / s for both (one binary MAC = one bit of XOR+popcount). Operands are pre-packed (weights are
// packed once at load; activations arrive packed from the previous binary layer); B is repacked into the
// kernel's panel layout inside every call, so that cost is included.
//
// Run: build-*/bench/bench_bgemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Ratios: compare BM_bgemm_<out>_<isa> medians with BM_peer_openblas_sgemm / BM_peer_eigen_sgemm medians of the
// same {M, N, K, threads} row.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/peers.h"
#include "kernels/bgemm/bgemm.h"

namespace {

using namespace lowbit;
using kernels::bword;

const std::vector<bench::GemmShape>& shapes() {
  static const std::vector<bench::GemmShape> s = {
      {1024, 1024, 1024},
      // LeNet-5 conv2 (6→16, 5×5, 10×10 out); ResNet-20 stage convs (3×3, 32², 16², 8²)
      {16, 100, 150},
      {16, 1024, 144},
      {32, 256, 288},
      {64, 64, 576},
      // VGG-small (3×3): 128→128 @32², 256→256 @16², 512→512 @8²; the note's conv shape 64×1024×576
      {128, 1024, 1152},
      {256, 256, 2304},
      {512, 64, 4608},
      {64, 1024, 576},
      {256, 196, 2304},
      {128, 3136, 1152},
  };
  return s;
}

struct Operands {
  size_t M, N, K, kw;
  bench::AlignedArray<bword> A, B, scratch;
  std::vector<float> scale, bias;
  std::vector<int32_t> thr;
  std::vector<bword> flip;
  Operands(const kernels::BgemmKernels& t, int64_t m, int64_t n, int64_t k)
      : M(static_cast<size_t>(m)), N(static_cast<size_t>(n)), K(static_cast<size_t>(k)), kw(kernels::packed_words(K)) {
    A = bench::aligned_array<bword>(M * kw);
    B = bench::aligned_array<bword>(N * kw);
    bench::fill_random(A.get(), M * kw, 1);
    bench::fill_random(B.get(), N * kw, 2);
    for (size_t r = 0; r < M; ++r) A[r * kw + kw - 1] &= kernels::tail_mask(K);
    for (size_t r = 0; r < N; ++r) B[r * kw + kw - 1] &= kernels::tail_mask(K);
    scratch = bench::aligned_array<bword>(t.scratch_words(N, kw) + 1);
    scale.assign(M, 0.01f);
    bias.assign(M, 0.5f);
    thr.resize(M);
    flip.resize(kernels::packed_words(M));
    kernels::bgemm_thresholds_from_affine(scale.data(), bias.data(), M, thr.data(), flip.data());
  }
  kernels::BgemmOperands op() const {
    kernels::BgemmOperands o;
    o.M = M; o.N = N; o.K = K; o.kw = kw; o.A = A.get(); o.lda = kw; o.B = B.get(); o.ldb = kw;
    return o;
  }
};

enum class Out { i32, f32, bits };

void run_bgemm(benchmark::State& state, kernels::Isa isa, Out out) {
  const kernels::BgemmKernels* t = kernels::bgemm_kernels_for(isa);
  if (!t) {
    state.SkipWithError("ISA not supported on this CPU/build");
    return;
  }
  const int64_t M = state.range(0), N = state.range(1), K = state.range(2);
  const int threads = static_cast<int>(state.range(3));
  Operands d(*t, M, N, K);
  const kernels::BgemmOperands op = d.op();
  auto c32 = bench::aligned_array<int32_t>(static_cast<size_t>(M * N));
  auto cf = bench::aligned_array<float>(static_cast<size_t>(M * N));
  const size_t ldc = kernels::packed_words(d.M);
  auto cb = bench::aligned_array<bword>(d.N * ldc);
  for (auto _ : state) {
    switch (out) {
      case Out::i32: t->i32(op, {c32.get(), d.N, 1}, d.scratch.get(), threads); break;
      case Out::f32: t->f32(op, {cf.get(), d.N, 1, d.scale.data(), d.bias.data()}, d.scratch.get(), threads); break;
      case Out::bits: t->bits(op, {cb.get(), ldc, d.thr.data(), d.flip.data()}, d.scratch.get(), threads); break;
    }
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, isa == kernels::Isa::avx2 ? "binary_avx2_lut" : "binary_xor_popcnt",
                           threads);
  const char* names[] = {"out=i32", "out=f32(scale,bias) NCHW", "out=bits(threshold)"};
  state.SetLabel(bench::gemm_label(isa, threads, M, N, K, names[static_cast<int>(out)]));
}

void BM_bgemm_i32_avx512(benchmark::State& s) { run_bgemm(s, kernels::Isa::avx512, Out::i32); }
void BM_bgemm_f32_avx512(benchmark::State& s) { run_bgemm(s, kernels::Isa::avx512, Out::f32); }
void BM_bgemm_bits_avx512(benchmark::State& s) { run_bgemm(s, kernels::Isa::avx512, Out::bits); }
void BM_bgemm_i32_avx2(benchmark::State& s) { run_bgemm(s, kernels::Isa::avx2, Out::i32); }
void BM_bgemm_i32_ref(benchmark::State& s) { run_bgemm(s, kernels::Isa::ref, Out::i32); }

struct FloatGemm {
  bench::AlignedArray<float> A, B, C;
  FloatGemm(int64_t M, int64_t N, int64_t K) {
    A = bench::aligned_array<float>(static_cast<size_t>(M * K));
    B = bench::aligned_array<float>(static_cast<size_t>(K * N));
    C = bench::aligned_array<float>(static_cast<size_t>(M * N));
    bench::fill_random(A.get(), static_cast<size_t>(M * K), 3);
    bench::fill_random(B.get(), static_cast<size_t>(K * N), 4);
  }
};

#if defined(LOWBIT_HAVE_OPENBLAS)
void BM_peer_openblas_sgemm(benchmark::State& state) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)),
            K = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
  FloatGemm g(M, N, K);
  for (auto _ : state) {
    bench::peers::openblas_sgemm(M, N, K, g.A.get(), g.B.get(), g.C.get(), threads);
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, "fp32_fma", threads);
  state.SetLabel(bench::gemm_label("openblas", threads, M, N, K, "fp32"));
}
BENCHMARK(BM_peer_openblas_sgemm)->Apply([](benchmark::internal::Benchmark* b) { bench::add_gemm_args(b, shapes()); });
#endif

void BM_peer_eigen_sgemm(benchmark::State& state) {
  const int M = static_cast<int>(state.range(0)), N = static_cast<int>(state.range(1)),
            K = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
  FloatGemm g(M, N, K);
  for (auto _ : state) {
    bench::peers::eigen_sgemm(M, N, K, g.A.get(), g.B.get(), g.C.get(), threads);
    benchmark::ClobberMemory();
  }
  bench::set_gemm_counters(state, M, N, K, "fp32_fma", threads);
  state.SetLabel(bench::gemm_label("eigen", threads, M, N, K, "fp32"));
}

void gemm_args(benchmark::internal::Benchmark* b) { bench::add_gemm_args(b, shapes()); }

BENCHMARK(BM_bgemm_i32_avx512)->Apply(gemm_args);
BENCHMARK(BM_bgemm_f32_avx512)->Apply(gemm_args);
BENCHMARK(BM_bgemm_bits_avx512)->Apply(gemm_args);
BENCHMARK(BM_bgemm_i32_avx2)->Apply(gemm_args);
BENCHMARK(BM_peer_eigen_sgemm)->Apply(gemm_args);
BENCHMARK(BM_bgemm_i32_ref)->Apply([](benchmark::internal::Benchmark* b) {
  bench::add_gemm_args(b, {{64, 1024, 576}});
});

}  // namespace

LOWBIT_BENCH_MAIN();
