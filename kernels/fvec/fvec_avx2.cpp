// fvec for avx2: the xsimd kernels of fvec_simd.h instantiated for xsimd::avx2 (this file's ISA flags come from its
// name, cmake/LowbitHelpers.cmake).
#include "kernels/fvec/fvec_simd.h"

namespace lowbit::kernels {

extern const FvecKernels kFvecAvx2;
const FvecKernels kFvecAvx2 = fvec_simd::table<xsimd::avx2>();

}  // namespace lowbit::kernels
