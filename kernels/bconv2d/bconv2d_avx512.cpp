// bconv2d for avx512: im2col on packed bits + the avx512 bgemm (kBgemmAvx512, kernels/bgemm/bgemm_avx512.cpp) with
// its fused output transforms and the zero-padding correction. The conv math, padding derivation and scratch layout
// are in bconv2d.h and bconv2d_gemm.cpp; this file only binds the driver to the avx512 GEMM.
#include "kernels/bconv2d/bconv2d_gemm.h"

namespace lowbit::kernels {

extern const BgemmKernels kBgemmAvx512;

namespace {

void bconv2d_i32_avx512(const Bconv2dShape& s, const bword* input, const bword* weights, int32_t* out,
                      Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_i32(kBgemmAvx512, s, input, weights, out, layout, scratch, threads);
}
void bconv2d_f32_avx512(const Bconv2dShape& s, const bword* input, const bword* weights, const float* scale,
                      const float* bias, float* out, Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_f32(kBgemmAvx512, s, input, weights, scale, bias, out, layout, scratch, threads);
}
void bconv2d_bits_avx512(const Bconv2dShape& s, const bword* input, const bword* weights, const int32_t* threshold,
                       const bword* flip, bword* out, bword* scratch, int threads) {
  bconv2d_gemm_bits(kBgemmAvx512, s, input, weights, threshold, flip, out, scratch, threads);
}
size_t bconv2d_scratch_words_avx512(const Bconv2dShape& s) { return bconv2d_gemm_scratch_words(kBgemmAvx512, s); }

}  // namespace

extern const Bconv2dKernels kBconv2dAvx512;
const Bconv2dKernels kBconv2dAvx512 = {bconv2d_i32_avx512, bconv2d_f32_avx512, bconv2d_bits_avx512,
                                    bconv2d_scratch_words_avx512};

}  // namespace lowbit::kernels
