// sgemm front end. The single-threaded kernel is chosen once from the active ISA (kernels/isa.h): the packed
// AVX-512 micro-kernel (gemm_avx512.cpp) where the CPU has it, otherwise Eigen through row-major maps (portable;
// Eigen runs single-threaded under EIGEN_DONT_PARALLELIZE). Eigen is kept out of the AVX-512 translation unit on
// purpose: its templates compiled with different ISA flags in two TUs would be merged by the linker (ODR).
// Threading is ours: C is split into disjoint column (or row) blocks across OpenMP threads, so each output
// element is produced by exactly one thread with a fixed reduction order: the result depends only on the thread
// count, never on timing.
#include "engine/gemm.h"

#include <Eigen/Core>
#include <algorithm>

#include "engine/gemm_kernels.h"
#include "engine/threading.h"
#include "kernels/isa.h"
#include "kernels/omp.h"

namespace lowbit {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
using MutMap = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;

template <class OpA, class OpB>
void run(const OpA& a, const OpB& b, float alpha, float beta, MutMap& c) {
  if (beta == 0.0f) {
    c.noalias() = alpha * (a * b);
  } else {
    if (beta != 1.0f) c *= beta;
    c.noalias() += alpha * (a * b);
  }
}
}  // namespace

namespace gemm_detail {
void sgemm_eigen(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  MutMap c(C, M, N, Eigen::OuterStride<>(ldc));
  if (K <= 0) {
    if (beta == 0.0f) c.setZero(); else c *= beta;
    return;
  }
  ConstMap a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  ConstMap b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  if (!trans_a && !trans_b) run(a, b, alpha, beta, c);
  else if (!trans_a && trans_b) run(a, b.transpose(), alpha, beta, c);
  else if (trans_a && !trans_b) run(a.transpose(), b, alpha, beta, c);
  else run(a.transpose(), b.transpose(), alpha, beta, c);
}
}  // namespace gemm_detail

namespace {
gemm_detail::SgemmFn select_kernel() {
#if defined(__x86_64__) || defined(_M_X64)
  if (kernels::active_isa() == kernels::Isa::avx512) return gemm_detail::sgemm_avx512;
#endif
  return gemm_detail::sgemm_eigen;
}
}  // namespace

void sgemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  static const gemm_detail::SgemmFn kernel = select_kernel();
  kernel(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  int threads = num_threads();
#if defined(_OPENMP)
  if (omp_in_parallel()) threads = 1;
#endif
  // Below ~1 MFLOP the fork/join overhead outweighs the gain.
  if (threads <= 1 || M * N * K < (int64_t(1) << 20)) {
    sgemm_serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const bool split_n = N >= M || N >= 64 * threads;
  const int64_t extent = split_n ? N : M;
  // Blocks are multiples of 16 so every thread gets whole SIMD panels.
  int64_t block = (extent + threads - 1) / threads;
  block = (block + 15) / 16 * 16;
  const int64_t nblocks = (extent + block - 1) / block;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static))
  for (int64_t t = 0; t < nblocks; ++t) {
    const int64_t lo = t * block, len = std::min(block, extent - lo);
    if (split_n) {
      const float* Bt = trans_b ? B + lo * ldb : B + lo;
      sgemm_serial(trans_a, trans_b, M, len, K, alpha, A, lda, Bt, ldb, beta, C + lo, ldc);
    } else {
      const float* At = trans_a ? A + lo : A + lo * lda;
      sgemm_serial(trans_a, trans_b, len, N, K, alpha, At, lda, B, ldb, beta, C + lo * ldc, ldc);
    }
  }
}

}  // namespace lowbit
