// Thread count used by engine ops (OpenMP at our level; Eigen itself runs single-threaded), and the range split
// that independent element loops (engine's elementwise ops, quant's quantizer loops) share.
#pragma once
#include <cstdint>

#include "kernels/omp.h"

namespace lowbit {
void set_num_threads(int n);  // n ≥ 1; also sets OpenMP's count
int num_threads();

// f(lo, hi) over [0, n) in one contiguous range per thread, in parallel when n ≥ grain and the caller is not
// already inside a parallel region; otherwise f(0, n) on the calling thread. For loops over independent
// elements (each range a plain loop over __restrict arrays, so it vectorises).
template <class F>
void for_each_thread_range(int64_t n, int64_t grain, F f) {
  int parts = n >= grain && n > 1 ? num_threads() : 1;
#if defined(_OPENMP)
  if (omp_in_parallel()) parts = 1;
#endif
  if (parts <= 1) {
    f(int64_t{0}, n);
    return;
  }
  LOWBIT_OMP(parallel for num_threads(parts) schedule(static))
  for (int p = 0; p < parts; ++p) {
    const int64_t lo = n * p / parts, hi = n * (p + 1) / parts;
    if (lo < hi) f(lo, hi);
  }
}
}  // namespace lowbit
