// Arguments of the bit-plane GEMM drivers (plane_gemm_avx512.h, plane_gemm_avx2.h), shared by tgemm and
// bitserial. Output (m, n): I = Σ partial(popcounts) + row_base[m] + col_base[n] (int32), and for float outputs
// C = (scale[m]·scale_mul)·float(I) + bias[m] — the same expression, in the same order, as the reference kernels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/packing.h"
#include "kernels/tgemm/tgemm.h"  // kParallelMinWords

namespace lowbit::kernels::plane_gemm {

struct Args {
  size_t M, N, K;
  const bword* const* wplanes;  // WP plane base pointers; row m of plane p at wplanes[p] + m·ldw
  size_t ldw;
  const bword* const* xplanes;  // XP plane base pointers; column n of plane q at xplanes[q] + n·ldx
  size_t ldx;
  const int32_t* row_base;  // may be null
  const int32_t* col_base;  // may be null
  const float* scale;       // float output only; already including any constant factor
  const float* bias;        // may be null
  float scale_mul;          // scale[m]·scale_mul
};

}  // namespace lowbit::kernels::plane_gemm
