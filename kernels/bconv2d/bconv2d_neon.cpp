// bconv2d for NEON: im2col on packed bits + the NEON bgemm (kBgemmNeon, kernels/bgemm/bgemm_neon.cpp: 4×4 tiles
// of eor / cnt / uadalp) with its fused output transforms and the zero-padding correction. The conv math, padding
// derivation and scratch layout are in bconv2d.h and bconv2d_gemm.cpp; this file only binds the driver to the
// NEON GEMM, so NEON and reference convolutions agree exactly whenever the two bgemm tables do.
#include "kernels/bconv2d/bconv2d_gemm.h"

namespace lowbit::kernels {

extern const BgemmKernels kBgemmNeon;

namespace {

void bconv2d_i32_neon(const Bconv2dShape& s, const bword* input, const bword* weights, int32_t* out,
                      Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_i32(kBgemmNeon, s, input, weights, out, layout, scratch, threads);
}
void bconv2d_f32_neon(const Bconv2dShape& s, const bword* input, const bword* weights, const float* scale,
                      const float* bias, float* out, Bconv2dLayout layout, bword* scratch, int threads) {
  bconv2d_gemm_f32(kBgemmNeon, s, input, weights, scale, bias, out, layout, scratch, threads);
}
void bconv2d_bits_neon(const Bconv2dShape& s, const bword* input, const bword* weights, const int32_t* threshold,
                       const bword* flip, bword* out, bword* scratch, int threads) {
  bconv2d_gemm_bits(kBgemmNeon, s, input, weights, threshold, flip, out, scratch, threads);
}
size_t bconv2d_scratch_words_neon(const Bconv2dShape& s) { return bconv2d_gemm_scratch_words(kBgemmNeon, s); }

}  // namespace

extern const Bconv2dKernels kBconv2dNeon;
const Bconv2dKernels kBconv2dNeon = {bconv2d_i32_neon, bconv2d_f32_neon, bconv2d_bits_neon,
                                    bconv2d_scratch_words_neon};

}  // namespace lowbit::kernels
