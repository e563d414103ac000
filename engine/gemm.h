// Single-precision GEMM used by engine ops (matmul, linear, conv) and by quant/ for its fp32 paths.
//
//   C[M, N] = alpha · op(A)[M, K] · op(B)[K, N] + beta · C
//
// All matrices are row-major with leading dimensions (row strides) lda, ldb, ldc. op(A) = A (stored M×K) or Aᵀ
// (A stored K×M) when trans_a; likewise B. beta == 0 means C is write-only (its old contents, even NaN, are
// ignored). Results are deterministic for a given thread count.
#pragma once
#include <cstdint>
#include <vector>

namespace lowbit {

// Splits the work over num_threads() OpenMP threads (over N, or over M when N is small) unless called from
// inside a parallel region or the problem is small, in which case it runs serially on the calling thread.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Always single-threaded: for callers that already parallelise (e.g. conv over the batch).
void sgemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// ---- B supplied by a packing callback ----
// Lets a caller produce B straight into the GEMM's panel layout (conv2d writes im2col rows directly into the
// panels, so the unfolded matrix is never materialised). The driver asks for blocks of op(B): depth rows
// [k0, k0 + kc) and columns [n0, n0 + nc) with kc ≤ kSgemmMaxKc and nc ≤ kSgemmMaxNc; the callback writes them as
// ceil(nc / 32) panels, panel j holding columns n0 + 32j .. n0 + 32j + 31:
//   dst[j·kc·32 + (k − k0)·32 + (n − n0 − 32j)] = op(B)(k, n),  zero for columns ≥ n0 + nc.
inline constexpr int64_t kSgemmPanelWidth = 32;
inline constexpr int64_t kSgemmMaxKc = 256;
inline constexpr int64_t kSgemmMaxNc = 512;
using PackBFn = void (*)(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst);
// Single-threaded: C = alpha · op(A) · B + beta · C with B from `pack`.
void sgemm_serial_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc);

// Threaded like sgemm (split over N in whole panels; serial inside a parallel region or for small problems).
void sgemm_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, PackBFn pack,
              const void* ctx, float beta, float* C, int64_t ldc);

// ---- A packed once, for many products with the same A (conv2d's weights across the images of a batch) ----
// Holds op(A) [M, K] in the active kernel's panel layout; where that kernel packs nothing it is a view of A
// (A must then outlive it).
class SgemmPackedA {
 public:
  SgemmPackedA(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda);
  int64_t rows() const { return M_; }
  int64_t depth() const { return K_; }
  bool trans_a() const { return trans_a_; }
  const float* a() const { return A_; }
  int64_t lda() const { return lda_; }
  const float* panels() const { return panels_.empty() ? nullptr : panels_.data(); }

 private:
  bool trans_a_;
  int64_t M_, K_;
  const float* A_;
  int64_t lda_;
  std::vector<float> panels_;
};
// C = alpha · op(A) · B + beta · C for op(A) packed beforehand; the same contracts as the unpacked calls.
void sgemm_serial_cb(const SgemmPackedA& a, int64_t N, float alpha, PackBFn pack, const void* ctx, float beta,
                     float* C, int64_t ldc);
void sgemm_cb(const SgemmPackedA& a, int64_t N, float alpha, PackBFn pack, const void* ctx, float beta, float* C,
              int64_t ldc);

}  // namespace lowbit
