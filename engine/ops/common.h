// Internal helpers shared by the op families (not part of the public API).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/error.h"
#include "engine/threading.h"
#include "engine/var.h"
#include "kernels/omp.h"

namespace lowbit::ops_detail {

// Elementwise loops below this many elements run serially: fork/join costs more than it saves.
inline constexpr int64_t kParallelGrain = 1 << 15;

// Threads for a loop over n elements (1 when small or already inside a parallel region).
inline int threads_for(int64_t n) {
#if defined(_OPENMP)
  if (omp_in_parallel()) return 1;
#endif
  return n >= kParallelGrain ? num_threads() : 1;
}

// f(i) for i in [0, n), parallel when the total work (in elements touched) is large.
template <class F>
inline void parallel_for_work(int64_t n, int64_t work, F f) {
  const int nt = n > 1 ? threads_for(work) : 1;
  if (nt <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (int64_t i = 0; i < n; ++i) f(i);
}

// f(i) for i in [0, n), parallel for large n.
template <class F>
inline void parallel_for(int64_t n, F f) {
  parallel_for_work(n, n, f);
}

// Elementwise maps over raw arrays. The loop bodies take __restrict pointers in a plain loop so the compiler
// vectorises them (a lambda indexing captured pointers did not vectorise in measurements); work is split into
// one contiguous range per thread. The hot maps (add, ReLU, the clamps and their windows) are fvec kernels
// instead (kernels/fvec/fvec.h: xsimd per ISA).
template <class F>
inline void map1_range(int64_t lo, int64_t hi, const float* __restrict x, float* __restrict y, F f) {
  for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
}
template <class F>
inline void map3_range(int64_t lo, int64_t hi, const float* __restrict a, const float* __restrict b,
                       const float* __restrict c, float* __restrict y, F f) {
  for (int64_t i = lo; i < hi; ++i) y[i] = f(a[i], b[i], c[i]);
}
template <class F>
inline void map1(int64_t n, const float* x, float* y, F f) {
  for_each_thread_range(n, kParallelGrain, [&](int64_t lo, int64_t hi) { map1_range(lo, hi, x, y, f); });
}
template <class F>
inline void map3(int64_t n, const float* a, const float* b, const float* c, float* y, F f) {
  for_each_thread_range(n, kParallelGrain, [&](int64_t lo, int64_t hi) { map3_range(lo, hi, a, b, c, y, f); });
}

// Sum of f(i) over a contiguous range with 8 independent accumulators (vectorisable, fixed order).
template <class F>
inline double block_sum(int64_t lo, int64_t hi, F f) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = lo;
  for (; i + 8 <= hi; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += f(i + k);
  double s = 0.0;
  for (int k = 0; k < 8; ++k) s += acc[k];
  for (; i < hi; ++i) s += f(i);
  return s;
}

// Deterministic sum of f(i), i in [0, n): fixed 4096-element blocks summed in float, blocks combined in double in
// order. The result is independent of the thread count.
template <class F>
inline double det_sum(int64_t n, F f) {
  constexpr int64_t kBlock = 4096;
  const int64_t nb = (n + kBlock - 1) / kBlock;
  if (nb <= 1) return block_sum(0, n, f);
  std::vector<double> part(static_cast<size_t>(nb));
  parallel_for_work(nb, n, [&](int64_t b) { part[b] = block_sum(b * kBlock, std::min(n, (b + 1) * kBlock), f); });
  double s = 0.0;
  for (double p : part) s += p;
  return s;
}

inline bool wants_grad(const std::vector<Var>& in, size_t i) { return i < in.size() && in[i].requires_grad(); }

inline void check_defined(const Var& v, const char* op, const char* what) {
  LOWBIT_CHECK(v.defined(), "{}: {} is an undefined Var", op, what);
}

inline void check_rank(const Var& v, int rank, const char* op, const char* what) {
  check_defined(v, op, what);
  LOWBIT_CHECK(v.shape().rank() == rank, "{}: {} must have rank {}, got shape {}", op, what, rank,
               v.shape().str());
}

// An elementwise op y = f(x) with backward g·d(x, y) (d = dy/dx from the saved input and output).
template <class Fwd, class D>
Var pointwise(const char* op, const Var& a, Fwd f, D d) {
  check_defined(a, op, "input");
  Tensor X = a.value();
  Tensor Y = Tensor::empty(X.shape());
  map1(X.numel(), X.data(), Y.data(), f);
  return Var::make(Y, {a}, [X, Y, d](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(X.shape());
    map3(X.numel(), g.data(), X.data(), Y.data(), gx.data(), [d](float gv, float x, float y) { return gv * d(x, y); });
    in[0].add_grad(gx);
  });
}

}  // namespace lowbit::ops_detail
