// fvec for neon: the xsimd kernels of fvec_simd.h instantiated for xsimd::neon64 (this file's ISA flags come from its
// name, cmake/LowbitHelpers.cmake).
#include "kernels/fvec/fvec_simd.h"

namespace lowbit::kernels {

extern const FvecKernels kFvecNeon;
const FvecKernels kFvecNeon = fvec_simd::table<xsimd::neon64>();

}  // namespace lowbit::kernels
