// bench_peers: the same-run baselines alone (bench/common/peers.h) at the shapes of kernels.md §3, so that the
// peer numbers of this machine have their own table, and a start-up check that each peer computes what its
// comment says (row-major layouts, transposes, thread splits) against a naive loop on small odd shapes.
//
// Shapes (M×N×K): 1024³; conv-as-GEMM 64×1024×576 (3×3×64 filters, 32×32 px); 256×196×2304 (ResNet 14×14);
// 128×3136×1152 (56×56); GEMV 4096×1×4096; 4096×8×4096. Conv: ResNet-20 stages at batch 1 and a 56×56 layer.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/peers.h"

namespace lb = lowbit::bench;
namespace peers = lowbit::bench::peers;

namespace {

const std::vector<lb::GemmShape> kGemmShapes = {
    {1024, 1024, 1024}, {64, 1024, 576}, {256, 196, 2304}, {128, 3136, 1152}, {4096, 8, 4096}};
const std::vector<lb::GemmShape> kGemvShapes = {{4096, 1, 4096}, {16384, 1, 4096}};

void gemm_args(benchmark::internal::Benchmark* b) { lb::add_gemm_args(b, kGemmShapes); }
[[maybe_unused]] void gemv_args(benchmark::internal::Benchmark* b) { lb::add_gemm_args(b, kGemvShapes); }

// ---- fp32 GEMM ----
template <void (*Fn)(int, int, int, const float*, const float*, float*, int)>
void BM_fp32_gemm(benchmark::State& state, const char* who) {
  const int M = state.range(0), N = state.range(1), K = state.range(2), t = state.range(3);
  auto A = lb::aligned_array<float>(size_t(M) * K), B = lb::aligned_array<float>(size_t(K) * N);
  auto C = lb::aligned_array<float>(size_t(M) * N);
  lb::fill_random(A.get(), size_t(M) * K, 1);
  lb::fill_random(B.get(), size_t(K) * N, 2);
  for (auto _ : state) {
    Fn(M, N, K, A.get(), B.get(), C.get(), t);
    benchmark::ClobberMemory();
  }
  lb::set_gemm_counters(state, M, N, K, "fp32_fma", t);
  state.SetLabel(lb::gemm_label("fp32", t, M, N, K, who));
}

void BM_peer_eigen_sgemm(benchmark::State& s) { BM_fp32_gemm<peers::eigen_sgemm>(s, "eigen"); }
BENCHMARK(BM_peer_eigen_sgemm)->Apply(gemm_args);

#if defined(LOWBIT_HAVE_OPENBLAS)
void BM_peer_openblas_sgemm(benchmark::State& s) { BM_fp32_gemm<peers::openblas_sgemm>(s, "openblas"); }
BENCHMARK(BM_peer_openblas_sgemm)->Apply(gemm_args);

void BM_peer_openblas_sgemv(benchmark::State& state) {
  const int M = state.range(0), K = state.range(2), t = state.range(3);
  auto A = lb::aligned_array<float>(size_t(M) * K), x = lb::aligned_array<float>(K), y = lb::aligned_array<float>(M);
  lb::fill_random(A.get(), size_t(M) * K, 3);
  lb::fill_random(x.get(), K, 4);
  for (auto _ : state) {
    peers::openblas_sgemv(M, K, A.get(), x.get(), y.get(), t);
    benchmark::ClobberMemory();
  }
  lb::set_gops(state, 2.0 * M * K);
  // GEMV is bounded by streaming the weights: compare with the read bandwidth (bytes of A per call).
  lb::set_pct_ceiling(state, 4.0 * M * K, size_t(M) * K * 4 > (size_t(16) << 20) ? "dram_read" : "read_l3", t);
  state.SetLabel(lb::gemm_label("fp32", t, M, 1, K, "openblas sgemv, pct of read bandwidth"));
}
BENCHMARK(BM_peer_openblas_sgemv)->Apply(gemv_args);
#endif

#if defined(LOWBIT_HAVE_DNNL)
void BM_peer_dnnl_u8s8s32(benchmark::State& state) {
  const int M = state.range(0), N = state.range(1), K = state.range(2), t = state.range(3);
  auto A = lb::aligned_array<uint8_t>(size_t(M) * K);
  auto B = lb::aligned_array<int8_t>(size_t(K) * N);
  auto C = lb::aligned_array<int32_t>(size_t(M) * N);
  lb::fill_random(A.get(), size_t(M) * K, 5);
  lb::fill_random(B.get(), size_t(K) * N, 6);
  for (auto _ : state) {
    if (!peers::dnnl_gemm_u8s8s32(M, N, K, A.get(), B.get(), C.get(), t)) {
      state.SkipWithError("dnnl_gemm_u8s8s32 failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  lb::set_gemm_counters(state, M, N, K, "int8_vnni", t);
  state.SetLabel(lb::gemm_label("int8", t, M, N, K, "onednn u8s8s32"));
}
BENCHMARK(BM_peer_dnnl_u8s8s32)->Apply(gemm_args);

void BM_peer_dnnl_gemv_s8u8s32(benchmark::State& state) {
  const int M = state.range(0), K = state.range(2), t = state.range(3);
  auto W = lb::aligned_array<int8_t>(size_t(M) * K);
  auto x = lb::aligned_array<uint8_t>(K);
  auto y = lb::aligned_array<int32_t>(M);
  lb::fill_random(W.get(), size_t(M) * K, 7);
  lb::fill_random(x.get(), K, 8);
  for (auto _ : state) {
    if (!peers::dnnl_gemv_s8u8s32(M, K, W.get(), x.get(), y.get(), t)) {
      state.SkipWithError("dnnl GEMV failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  lb::set_gops(state, 2.0 * M * K);
  lb::set_pct_ceiling(state, 1.0 * M * K, size_t(M) * K > (size_t(16) << 20) ? "dram_read" : "read_l3", t);
  state.SetLabel(lb::gemm_label("int8", t, M, 1, K, "onednn u8s8s32 N=1, pct of read bandwidth"));
}
BENCHMARK(BM_peer_dnnl_gemv_s8u8s32)->Apply(gemv_args);
#endif

#if defined(LOWBIT_HAVE_OPENBLAS)
// Conv args: N, C, H, W, Cout, KH, KW, stride, pad.
void conv_args(benchmark::internal::Benchmark* b) {
  lb::add_args_with_threads(b, {"N", "C", "H", "W", "Cout", "KH", "KW", "stride", "pad"},
                            {{1, 16, 32, 32, 16, 3, 3, 1, 1},
                             {1, 32, 16, 16, 32, 3, 3, 1, 1},
                             {1, 64, 8, 8, 64, 3, 3, 1, 1},
                             {1, 64, 32, 32, 64, 3, 3, 1, 1},
                             {1, 128, 56, 56, 128, 3, 3, 1, 1},
                             {8, 64, 32, 32, 64, 3, 3, 1, 1}});
}
void BM_peer_im2col_sgemm_conv(benchmark::State& state) {
  peers::ConvShape s{int(state.range(0)), int(state.range(1)), int(state.range(2)), int(state.range(3)),
                     int(state.range(4)), int(state.range(5)), int(state.range(6)), int(state.range(7)),
                     int(state.range(8))};
  const int t = state.range(9);
  peers::Im2colSgemmConv conv(s);
  auto in = lb::aligned_array<float>(size_t(s.N) * s.C * s.H * s.W);
  auto w = lb::aligned_array<float>(size_t(s.Cout) * s.C * s.KH * s.KW);
  auto out = lb::aligned_array<float>(size_t(s.N) * s.Cout * s.out_h() * s.out_w());
  lb::fill_random(in.get(), size_t(s.N) * s.C * s.H * s.W, 9);
  lb::fill_random(w.get(), size_t(s.Cout) * s.C * s.KH * s.KW, 10);
  for (auto _ : state) {
    conv.run(in.get(), w.get(), out.get(), t);
    benchmark::ClobberMemory();
  }
  lb::set_gops(state, s.ops());
  lb::set_pct_ceiling(state, s.ops(), "fp32_fma", t);
  char shape[128];
  std::snprintf(shape, sizeof shape, "conv N%d C%d %dx%d Cout%d k%dx%d s%d p%d", s.N, s.C, s.H, s.W, s.Cout, s.KH,
                s.KW, s.stride, s.pad);
  state.SetLabel(lb::label("fp32", t, shape));
}
BENCHMARK(BM_peer_im2col_sgemm_conv)->Apply(conv_args);
#endif

// ---- start-up correctness check of the peers --------------------------------------------------------------------
int g_failures = 0;
void expect_close(const char* what, double got, double want, double tol) {
  if (std::fabs(got - want) > tol * (1.0 + std::fabs(want))) {
    if (g_failures++ < 5) std::fprintf(stderr, "bench_peers: %s = %g, expected %g\n", what, got, want);
  }
}

void check_peers() {
  const int M = 37, N = 29, K = 45;
  std::vector<float> A(M * K), B(K * N), C(M * N);
  lb::fill_random(A.data(), A.size(), 11);
  lb::fill_random(B.data(), B.size(), 12);
  std::vector<double> ref(M * N, 0.0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      for (int k = 0; k < K; ++k) ref[i * N + j] += double(A[i * K + k]) * B[k * N + j];
  for (int t : {1, 2}) {
    peers::eigen_sgemm(M, N, K, A.data(), B.data(), C.data(), t);
    for (int i = 0; i < M * N; ++i) expect_close("eigen_sgemm", C[i], ref[i], 1e-4);
#if defined(LOWBIT_HAVE_OPENBLAS)
    peers::openblas_sgemm(M, N, K, A.data(), B.data(), C.data(), t);
    for (int i = 0; i < M * N; ++i) expect_close("openblas_sgemm", C[i], ref[i], 1e-4);
    std::vector<float> y(M);
    peers::openblas_sgemv(M, K, A.data(), B.data(), y.data(), t);  // x = first K entries of B
    for (int i = 0; i < M; ++i) {
      double r = 0;
      for (int k = 0; k < K; ++k) r += double(A[i * K + k]) * B[k];
      expect_close("openblas_sgemv", y[i], r, 1e-4);
    }
#endif
#if defined(LOWBIT_HAVE_DNNL)
    std::vector<uint8_t> A8(M * K);
    std::vector<int8_t> B8(K * N);
    std::vector<int32_t> C32(M * N), y32(M);
    lb::fill_random(A8.data(), A8.size(), 13);
    lb::fill_random(B8.data(), B8.size(), 14);
    if (!peers::dnnl_gemm_u8s8s32(M, N, K, A8.data(), B8.data(), C32.data(), t)) expect_close("dnnl status", 1, 0, 0);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        int64_t r = 0;
        for (int k = 0; k < K; ++k) r += int64_t(A8[i * K + k]) * B8[k * N + j];
        expect_close("dnnl_gemm_u8s8s32", C32[i * N + j], double(r), 0);
      }
    // GEMV: W = B8 viewed as [N×K]... use a separate M×K int8 matrix and x = first K of A8.
    std::vector<int8_t> W(M * K);
    lb::fill_random(W.data(), W.size(), 15);
    if (!peers::dnnl_gemv_s8u8s32(M, K, W.data(), A8.data(), y32.data(), t)) expect_close("dnnl status", 1, 0, 0);
    for (int i = 0; i < M; ++i) {
      int64_t r = 0;
      for (int k = 0; k < K; ++k) r += int64_t(W[i * K + k]) * A8[k];
      expect_close("dnnl_gemv_s8u8s32", y32[i], double(r), 0);
    }
#endif
#if defined(LOWBIT_HAVE_OPENBLAS)
    const peers::ConvShape s{2, 3, 9, 7, 5, 3, 3, 2, 1};
    std::vector<float> in(s.N * s.C * s.H * s.W), w(s.Cout * s.C * s.KH * s.KW),
        out(s.N * s.Cout * s.out_h() * s.out_w());
    lb::fill_random(in.data(), in.size(), 16);
    lb::fill_random(w.data(), w.size(), 17);
    peers::Im2colSgemmConv conv(s);
    conv.run(in.data(), w.data(), out.data(), t);
    for (int n = 0; n < s.N; ++n)
      for (int o = 0; o < s.Cout; ++o)
        for (int oh = 0; oh < s.out_h(); ++oh)
          for (int ow = 0; ow < s.out_w(); ++ow) {
            double r = 0;
            for (int c = 0; c < s.C; ++c)
              for (int kh = 0; kh < s.KH; ++kh)
                for (int kw = 0; kw < s.KW; ++kw) {
                  const int ih = oh * s.stride - s.pad + kh, iw = ow * s.stride - s.pad + kw;
                  if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                  r += double(in[((n * s.C + c) * s.H + ih) * s.W + iw]) * w[((o * s.C + c) * s.KH + kh) * s.KW + kw];
                }
            expect_close("im2col_sgemm_conv", out[((n * s.Cout + o) * s.out_h() + oh) * s.out_w() + ow], r, 1e-4);
          }
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  check_peers();
  if (g_failures) {
    std::fprintf(stderr, "bench_peers: %d peer results disagree with the naive loop; not benchmarking\n", g_failures);
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  lb::add_machine_context();
  benchmark::AddCustomContext("peer_check", "passed");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
