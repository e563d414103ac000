// Internal: the im2col + bgemm implementation of bconv2d, generic over a bgemm table. Each ISA file
// (bconv2d_avx2.cpp, bconv2d_avx512.cpp, bconv2d_neon.cpp) binds it to its bgemm table; the math and the scratch
// layout are documented in bconv2d_gemm.cpp.
#pragma once
#include "kernels/bconv2d/bconv2d.h"
#include "kernels/bgemm/bgemm.h"

namespace lowbit::kernels {

size_t bconv2d_gemm_scratch_words(const BgemmKernels& g, const Bconv2dShape& s);
void bconv2d_gemm_i32(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                      int32_t* out, Bconv2dLayout layout, bword* scratch, int threads);
void bconv2d_gemm_f32(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                      const float* scale, const float* bias, float* out, Bconv2dLayout layout, bword* scratch,
                      int threads);
void bconv2d_gemm_bits(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                       const int32_t* threshold, const bword* flip, bword* out, bword* scratch, int threads);

}  // namespace lowbit::kernels
