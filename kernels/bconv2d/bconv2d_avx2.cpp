// bconv2d for avx2: im2col on packed bits + the avx2 bgemm (kBgemmAvx2, kernels/bgemm/bgemm_avx2.cpp) with
// its fused output transforms and the zero-padding correction. The conv math, padding derivation and scratch layout
// are in bconv2d.h and bconv2d_gemm.cpp; this file only binds the driver to the avx2 GEMM.
#include "kernels/bconv2d/bconv2d_gemm.h"

namespace lowbit::kernels {

extern const BgemmKernels kBgemmAvx2;

namespace {

void bconv2d_i32_avx2(const Bconv2dShape& s, const bword* input, const bword* weights, int32_t* out,
                      Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_i32(kBgemmAvx2, s, input, weights, out, layout, scratch, threads);
}
void bconv2d_f32_avx2(const Bconv2dShape& s, const bword* input, const bword* weights, const float* scale,
                      const float* bias, float* out, Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_f32(kBgemmAvx2, s, input, weights, scale, bias, out, layout, scratch, threads);
}
void bconv2d_bits_avx2(const Bconv2dShape& s, const bword* input, const bword* weights, const int32_t* threshold,
                       const bword* flip, bword* out, bword* scratch, int threads) {
  bconv2d_gemm_bits(kBgemmAvx2, s, input, weights, threshold, flip, out, scratch, threads);
}
size_t bconv2d_scratch_words_avx2(const Bconv2dShape& s) { return bconv2d_gemm_scratch_words(kBgemmAvx2, s); }

}  // namespace

extern const Bconv2dKernels kBconv2dAvx2;
const Bconv2dKernels kBconv2dAvx2 = {bconv2d_i32_avx2, bconv2d_f32_avx2, bconv2d_bits_avx2,
                                    bconv2d_scratch_words_avx2};

}  // namespace lowbit::kernels
