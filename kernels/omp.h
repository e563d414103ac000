// OpenMP without warnings in builds that have it off: LOWBIT_PRAGMA_OMP(x) expands to #pragma omp x only when
// compiled with -fopenmp, so -Wall stays quiet about unknown pragmas in firmware and no-OpenMP builds.
#pragma once
#if defined(_OPENMP)
#include <omp.h>
#define LOWBIT_PRAGMA_OMP(x) _Pragma(#x)
#else
#define LOWBIT_PRAGMA_OMP(x)
#endif
#define LOWBIT_OMP(x) LOWBIT_PRAGMA_OMP(omp x)

namespace lowbit::kernels {
// Number of threads a kernel's `threads` argument of 0 resolves to (OpenMP's max, or 1).
inline int default_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}
}  // namespace lowbit::kernels
