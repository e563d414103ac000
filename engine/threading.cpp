#include "engine/threading.h"

#include <atomic>

#include "engine/error.h"
#include "kernels/omp.h"

namespace lowbit {

namespace {
std::atomic<int> g_threads{0};  // 0 = not set: OpenMP's default
}

void set_num_threads(int n) {
  LOWBIT_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got {}", n);
  g_threads = n;
#if defined(_OPENMP)
  omp_set_num_threads(n);
#endif
}

int num_threads() {
  const int n = g_threads.load();
  if (n > 0) return n;
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace lowbit
