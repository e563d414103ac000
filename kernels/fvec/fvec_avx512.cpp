// fvec for avx512: the xsimd kernels of fvec_simd.h instantiated for xsimd::avx512f (this file's ISA flags come from its
// name, cmake/LowbitHelpers.cmake).
#include "kernels/fvec/fvec_simd.h"

namespace lowbit::kernels {

extern const FvecKernels kFvecAvx512;
const FvecKernels kFvecAvx512 = fvec_simd::table<xsimd::avx512f>();

}  // namespace lowbit::kernels
