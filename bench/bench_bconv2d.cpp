// bconv2d end to end vs the fp32 convolution a user would otherwise run (OpenBLAS im2col + sgemm), same layer,
// same binary, batch 1.
//
// Layers: LeNet-5 conv2, the three ResNet-20 (CIFAR) stage convs, the VGG-small convs, and the ResNet 56×56 /
// 14×14 shapes of the GEMM table (128×3136×1152, 256×196×2304). GOPS = 2·Cout·OH·OW·Cin·KH·KW / s for all rows.
//   BM_bconv2d_bits_<isa>      packed bits in → im2col on bits → bgemm → BN+sign thresholds → packed bits out
//                              (a binary layer inside a binary network: nothing is unpacked)
//   BM_bconv2d_f32_<isa>       fp32 NCHW in → sign-pack → im2col → bgemm → BN affine → fp32 NCHW out
//                              (drop-in replacement for one fp32 conv layer, packing included)
//   BM_peer_openblas_conv      fp32 NCHW im2col + cblas_sgemm (bench/common/peers.h)
// Zero padding (with the correction) everywhere, as training computes it.
//
// Run: build-*/bench/bench_bconv2d --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/peers.h"
#include "kernels/bconv2d/bconv2d.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/pack/pack_bits.h"

namespace {

using namespace lowbit;
using kernels::bword;

// {Cin, H=W, Cout, kernel, stride, pad}
const std::vector<std::vector<int64_t>>& layers() {
  static const std::vector<std::vector<int64_t>> l = {
      {6, 14, 16, 5, 1, 0},      // LeNet-5 conv2
      {16, 32, 16, 3, 1, 1},     // ResNet-20 stage 1
      {32, 16, 32, 3, 1, 1},     // ResNet-20 stage 2
      {64, 8, 64, 3, 1, 1},      // ResNet-20 stage 3
      {64, 32, 64, 3, 1, 1},     // 64×1024×576
      {128, 32, 128, 3, 1, 1},   // VGG-small 128→128 @32²
      {256, 16, 256, 3, 1, 1},   // VGG-small 256→256 @16²
      {512, 8, 512, 3, 1, 1},    // VGG-small 512→512 @8²
      {256, 14, 256, 3, 1, 1},   // 256×196×2304
      {128, 56, 128, 3, 1, 1},   // 128×3136×1152
  };
  return l;
}

void layer_args(benchmark::internal::Benchmark* b) {
  bench::add_args_with_threads(b, {"C", "HW", "Cout", "k", "s", "p"}, layers());
}

kernels::Bconv2dShape shape_of(const benchmark::State& state) {
  kernels::Bconv2dShape s;
  s.in_c = static_cast<size_t>(state.range(0));
  s.in_h = s.in_w = static_cast<size_t>(state.range(1));
  s.out_c = static_cast<size_t>(state.range(2));
  s.kernel_h = s.kernel_w = static_cast<size_t>(state.range(3));
  s.stride_h = s.stride_w = static_cast<size_t>(state.range(4));
  s.pad_h = s.pad_w = static_cast<size_t>(state.range(5));
  s.padding = kernels::Bconv2dPadding::zero;
  return s;
}

double conv_ops(const kernels::Bconv2dShape& s) {
  return 2.0 * static_cast<double>(s.out_c) * static_cast<double>(s.out_h() * s.out_w()) *
         static_cast<double>(s.patch_bits());
}

std::string conv_label(const kernels::Bconv2dShape& s, const std::string& what) {
  return std::to_string(s.in_c) + "x" + std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "->" +
         std::to_string(s.out_c) + " k" + std::to_string(s.kernel_h) + " s" + std::to_string(s.stride_h) + " p" +
         std::to_string(s.pad_h) + " (gemm " + std::to_string(s.out_c) + "x" +
         std::to_string(s.out_h() * s.out_w()) + "x" + std::to_string(s.patch_bits()) + ") " + what;
}

struct Layer {
  kernels::Bconv2dShape s;
  bench::AlignedArray<float> x;
  bench::AlignedArray<bword> xb, wb, scratch, outb;
  bench::AlignedArray<float> outf;
  std::vector<float> scale, bias;
  std::vector<int32_t> thr;
  std::vector<bword> flip;
  size_t xb_words;

  Layer(const kernels::Bconv2dKernels& t, const kernels::Bconv2dShape& shape) : s(shape) {
    const size_t cw = s.in_words(), pixels = s.in_h * s.in_w;
    x = bench::aligned_array<float>(s.in_c * pixels);
    bench::fill_random(x.get(), s.in_c * pixels, 5);
    xb_words = pixels * cw;
    xb = bench::aligned_array<bword>(xb_words);
    kernels::pack_bits_kernels().nchw_to_nhwc(x.get(), 1, s.in_c, s.in_h, s.in_w, xb.get());
    const size_t wrows = s.out_c * s.kernel_h * s.kernel_w;
    auto w = bench::aligned_array<float>(wrows * s.in_c);
    bench::fill_random(w.get(), wrows * s.in_c, 6);
    wb = bench::aligned_array<bword>(wrows * cw);
    kernels::pack_bits_kernels().sign_rows(w.get(), wrows, s.in_c, s.in_c, wb.get(), cw);
    scratch = bench::aligned_array<bword>(t.scratch_words(s) + 1);
    const size_t opix = s.out_h() * s.out_w();
    outb = bench::aligned_array<bword>(opix * kernels::packed_words(s.out_c));
    outf = bench::aligned_array<float>(opix * s.out_c);
    scale.assign(s.out_c, 0.02f);
    bias.assign(s.out_c, 0.1f);
    thr.resize(s.out_c);
    flip.resize(kernels::packed_words(s.out_c));
    kernels::bgemm_thresholds_from_affine(scale.data(), bias.data(), s.out_c, thr.data(), flip.data());
  }
};

void run_bconv(benchmark::State& state, kernels::Isa isa, bool fp32_in_out) {
  const kernels::Bconv2dKernels* t = kernels::bconv2d_kernels_for(isa);
  const kernels::PackBitsKernels* pk = kernels::pack_bits_kernels_for(isa);
  if (!t || !pk) {
    state.SkipWithError("ISA not supported on this CPU/build");
    return;
  }
  const kernels::Bconv2dShape s = shape_of(state);
  const int threads = static_cast<int>(state.range(6));
  Layer L(*t, s);
  for (auto _ : state) {
    if (fp32_in_out) {
      pk->nchw_to_nhwc(L.x.get(), 1, s.in_c, s.in_h, s.in_w, L.xb.get());
      t->f32(s, L.xb.get(), L.wb.get(), L.scale.data(), L.bias.data(), L.outf.get(), kernels::Bconv2dLayout::nchw,
             L.scratch.get(), threads);
    } else {
      t->bits(s, L.xb.get(), L.wb.get(), L.thr.data(), L.flip.data(), L.outb.get(), L.scratch.get(), threads);
    }
    benchmark::ClobberMemory();
  }
  const double ops = conv_ops(s);
  bench::set_gops(state, ops);
  bench::set_pct_ceiling(state, ops, isa == kernels::Isa::avx2 ? "binary_avx2_lut" : "binary_xor_popcnt", threads);
  state.SetLabel(bench::label(isa, threads,
                              conv_label(s, fp32_in_out ? "fp32 in -> pack -> f32 NCHW (BN)" : "bits -> bits (BN+sign)")));
}

void BM_bconv2d_bits_avx512(benchmark::State& s) { run_bconv(s, kernels::Isa::avx512, false); }
void BM_bconv2d_f32_avx512(benchmark::State& s) { run_bconv(s, kernels::Isa::avx512, true); }
void BM_bconv2d_bits_avx2(benchmark::State& s) { run_bconv(s, kernels::Isa::avx2, false); }
BENCHMARK(BM_bconv2d_bits_avx512)->Apply(layer_args);
BENCHMARK(BM_bconv2d_f32_avx512)->Apply(layer_args);
BENCHMARK(BM_bconv2d_bits_avx2)->Apply(layer_args);

#if defined(LOWBIT_HAVE_OPENBLAS)
void BM_peer_openblas_conv(benchmark::State& state) {
  const kernels::Bconv2dShape s = shape_of(state);
  const int threads = static_cast<int>(state.range(6));
  bench::peers::ConvShape cs{1, static_cast<int>(s.in_c), static_cast<int>(s.in_h), static_cast<int>(s.in_w),
                             static_cast<int>(s.out_c), static_cast<int>(s.kernel_h), static_cast<int>(s.kernel_w),
                             static_cast<int>(s.stride_h), static_cast<int>(s.pad_h)};
  bench::peers::Im2colSgemmConv conv(cs);
  const size_t in = s.in_c * s.in_h * s.in_w, w = s.out_c * s.in_c * s.kernel_h * s.kernel_w;
  auto x = bench::aligned_array<float>(in);
  auto wt = bench::aligned_array<float>(w);
  auto y = bench::aligned_array<float>(s.out_c * s.out_h() * s.out_w());
  bench::fill_random(x.get(), in, 5);
  bench::fill_random(wt.get(), w, 6);
  for (auto _ : state) {
    conv.run(x.get(), wt.get(), y.get(), threads);
    benchmark::ClobberMemory();
  }
  const double ops = conv_ops(s);
  bench::set_gops(state, ops);
  bench::set_pct_ceiling(state, ops, "fp32_fma", threads);
  state.SetLabel(bench::label("openblas", threads, conv_label(s, "fp32 im2col+sgemm")));
}
BENCHMARK(BM_peer_openblas_conv)->Apply(layer_args);
#endif

}  // namespace

LOWBIT_BENCH_MAIN();
