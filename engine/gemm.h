// Single-precision GEMM used by engine ops (matmul, linear, conv) and by quant/ for its fp32 paths.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C
//
// All matrices are row-major with leading dimensions (row strides) lda, ldb, ldc. op(A) = A (stored M×K) or Aᵀ
// (A stored K×M) when trans_a; likewise B. beta == 0 means C is write-only (its old contents, even NaN, are
// ignored). Results are deterministic for a given thread count.
#pragma once
#include <cstdint>

namespace lowbit {

// Splits the work over num_threads() OpenMP threads (over N, or over M when N is small) unless called from
// inside a parallel region or the problem is small, in which case it runs serially on the calling thread.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Always single-threaded: for callers that already parallelise (e.g. conv over the batch).
void sgemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace lowbit
