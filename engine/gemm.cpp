// sgemm front end. The single-threaded kernel is chosen once from the active ISA through a dispatch table
// (kernels/dispatch_table.h): the packed AVX-512 micro-kernel (gemm_avx512.cpp) where the CPU has it, otherwise Eigen through row-major maps (portable;
// Eigen runs single-threaded under EIGEN_DONT_PARALLELIZE). Eigen is kept out of the AVX-512 translation unit on
// purpose: its templates compiled with different ISA flags in two TUs would be merged by the linker (ODR).
// Threading is ours: C is split into disjoint column (or row) blocks across OpenMP threads, so each output
// element is produced by exactly one thread with a fixed reduction order: the result depends only on the thread
// count, never on timing.
#include "engine/gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "engine/gemm_kernels.h"
#include "engine/threading.h"
#include "kernels/dispatch_table.h"
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

// Portable callback path: the panels are multiplied one by one as row-major kc×32 blocks (stride 32).
void sgemm_eigen_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                    PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || beta != 1.0f) {
    MutMap c(C, M, N, Eigen::OuterStride<>(ldc));
    if (beta == 0.0f) c.setZero(); else c *= beta;
  }
  if (K <= 0) return;
  constexpr int64_t W = kSgemmPanelWidth;
  std::vector<float> buf(static_cast<size_t>(std::min(K, kSgemmMaxKc) * ((std::min(N, kSgemmMaxNc) + W - 1) / W * W)));
  for (int64_t n0 = 0; n0 < N; n0 += kSgemmMaxNc) {
    const int64_t nc = std::min(kSgemmMaxNc, N - n0);
    for (int64_t k0 = 0; k0 < K; k0 += kSgemmMaxKc) {
      const int64_t kc = std::min(kSgemmMaxKc, K - k0);
      pack(ctx, k0, kc, n0, nc, buf.data());
      for (int64_t j = 0; j < nc; j += W) {
        const int64_t cols = std::min(W, nc - j);
        ConstMap b(buf.data() + (j / W) * kc * W, kc, cols, Eigen::OuterStride<>(W));
        MutMap c(C + n0 + j, M, cols, Eigen::OuterStride<>(ldc));
        if (trans_a) {
          ConstMap a(A + k0 * lda, kc, M, Eigen::OuterStride<>(lda));
          c.noalias() += alpha * (a.transpose() * b);
        } else {
          ConstMap a(A + k0, M, kc, Eigen::OuterStride<>(lda));
          c.noalias() += alpha * (a * b);
        }
      }
    }
  }
}
}  // namespace gemm_detail

namespace {
// Products below this many multiply-adds run on the calling thread. Such a product takes ~30 µs on one core,
// about what waking a sleeping OpenMP worker costs on a shared VM: measured, ResNet-20 inference at batch 1 (every
// conv 2.4 M MACs) ran 3x slower on 2 threads than on 1 with a 1 M threshold, the workers waiting in futexes.
constexpr int64_t kSgemmParallelMacs = int64_t(1) << 22;

// The sgemm tables (gemm_kernels.h): Eigen as the reference, the packed AVX-512 kernel where it is compiled.
using Kernels = gemm_detail::SgemmKernels;
constexpr Kernels kSgemmEigen = {gemm_detail::sgemm_eigen, gemm_detail::sgemm_eigen_cb, nullptr, nullptr, nullptr};
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
constexpr Kernels kSgemmAvx512 = {gemm_detail::sgemm_avx512, gemm_detail::sgemm_avx512_cb,
                                  gemm_detail::sgemm_avx512_packed_a_size, gemm_detail::sgemm_avx512_pack_a,
                                  gemm_detail::sgemm_avx512_cb_packed};
#endif
constexpr kernels::IsaTables<Kernels> kSgemmTables = {&kSgemmEigen, nullptr, LOWBIT_X86_VARIANT(kSgemmAvx512),
                                                      nullptr};
const Kernels& active_kernels() {
  static const Kernels& k = kernels::active_table(kSgemmTables);
  return k;
}

}  // namespace

const gemm_detail::SgemmKernels* gemm_detail::sgemm_kernels_for(kernels::Isa isa) {
  return kernels::table_for_isa(isa, kSgemmTables);
}

void sgemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  active_kernels().dense(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_serial_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc) {
  active_kernels().cb(trans_a, M, N, K, alpha, A, lda, pack, ctx, beta, C, ldc);
}

SgemmPackedA::SgemmPackedA(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda)
    : trans_a_(trans_a), M_(M), K_(K), A_(A), lda_(lda) {
  const Kernels& k = active_kernels();
  if (!k.pack_a || M <= 0 || K <= 0) return;
  panels_.resize(static_cast<size_t>(k.packed_a_size(M, K)));
  k.pack_a(trans_a, A, lda, M, K, panels_.data());
}

void sgemm_serial_cb(const SgemmPackedA& a, int64_t N, float alpha, PackBFn pack, const void* ctx, float beta,
                     float* C, int64_t ldc) {
  const Kernels& k = active_kernels();
  if (k.cb_packed && a.panels())
    k.cb_packed(a.panels(), a.rows(), N, a.depth(), alpha, pack, ctx, beta, C, ldc);
  else
    k.cb(a.trans_a(), a.rows(), N, a.depth(), alpha, a.a(), a.lda(), pack, ctx, beta, C, ldc);
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  int threads = num_threads();
#if defined(_OPENMP)
  if (omp_in_parallel()) threads = 1;
#endif
  if (threads <= 1 || M * N * K < kSgemmParallelMacs) {
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

namespace lowbit {
namespace {
// Shifts the column range a packer is asked for, so a thread can run the serial driver on columns [lo, hi).
struct ShiftedPack {
  PackBFn fn;
  const void* ctx;
  int64_t n_offset;
};
void shifted_pack(const void* c, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const ShiftedPack* s = static_cast<const ShiftedPack*>(c);
  s->fn(s->ctx, k0, kc, n0 + s->n_offset, nc, dst);
}

// Runs serial(n_lo, len, pack, ctx, C + n_lo) over column blocks of whole panels, in parallel when worth it.
template <class Serial>
void split_columns_cb(int64_t M, int64_t N, int64_t K, PackBFn pack, const void* ctx, float* C, Serial serial) {
  int threads = num_threads();
#if defined(_OPENMP)
  if (omp_in_parallel()) threads = 1;
#endif
  if (threads <= 1 || M * N * K < kSgemmParallelMacs || N < 2 * kSgemmPanelWidth) {
    serial(N, pack, ctx, C);
    return;
  }
  int64_t block = (N + threads - 1) / threads;
  block = (block + kSgemmPanelWidth - 1) / kSgemmPanelWidth * kSgemmPanelWidth;
  const int64_t nblocks = (N + block - 1) / block;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static))
  for (int64_t t = 0; t < nblocks; ++t) {
    const int64_t lo = t * block, len = std::min(block, N - lo);
    const ShiftedPack sp{pack, ctx, lo};
    serial(len, shifted_pack, &sp, C + lo);
  }
}
}  // namespace

void sgemm_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, PackBFn pack,
              const void* ctx, float beta, float* C, int64_t ldc) {
  split_columns_cb(M, N, K, pack, ctx, C, [&](int64_t n, PackBFn p, const void* c, float* Ct) {
    sgemm_serial_cb(trans_a, M, n, K, alpha, A, lda, p, c, beta, Ct, ldc);
  });
}

void sgemm_cb(const SgemmPackedA& a, int64_t N, float alpha, PackBFn pack, const void* ctx, float beta, float* C,
              int64_t ldc) {
  split_columns_cb(a.rows(), N, a.depth(), pack, ctx, C, [&](int64_t n, PackBFn p, const void* c, float* Ct) {
    sgemm_serial_cb(a, n, alpha, p, c, beta, Ct, ldc);
  });
}

}  // namespace lowbit
