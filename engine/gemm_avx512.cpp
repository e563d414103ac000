// Packed AVX-512 sgemm (single thread), after the Goto/BLIS layering:
//
//   for each column block jc of C (NC columns)
//     for each depth block pc (at most KC deep; K is split into equal blocks)
//       pack op(A)[:, pc]  into MR-tall panels  Ap[panel][k][MR]  (zero-padded to a multiple of MR)
//       for each NR-wide panel of op(B)[pc, jc]
//         pack it: Bp[k][NR] (zero-padded to NR columns; kc·NR floats = 32 KB at KC = 256: stays in L1)
//         for each A panel: C[MR×NR tile] (+)= alpha · Ap_panel · Bp
//
// Micro-kernel: MR = 8 rows × NR = 32 columns = 16 zmm accumulators. Per k step it loads two B vectors and
// broadcasts 8 A scalars into 16 FMAs, so it is FMA-bound (one 512-bit FMA per cycle on Zen 4, two on Intel
// server cores) rather than load-bound. Column tails use masked loads/stores; row tails are zero rows in Ap
// whose results are simply not stored. Transposed operands are handled entirely by the packing routines.
//
// Each output element is the sum over k in a fixed order (k blocks in order, then k within a block), so the
// result does not depend on how the caller splits C across threads.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <new>

#include "engine/gemm.h"
#include "engine/gemm_kernels.h"

// GCC 12 reports the _mm512_undefined_ps() operand inside _mm512_unpack{lo,hi}_ps as "maybe uninitialized" once
// inlined; the intrinsic ignores that operand, so the warning is a known false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace lowbit::gemm_detail {

namespace {
constexpr int64_t MR = 8, NR = kSgemmPanelWidth, KC = kSgemmMaxKc, NC = kSgemmMaxNc;
static_assert(NR == 32, "the micro-kernel holds 32 columns in two zmm registers");

// Per-thread packing buffers, grown on demand and reused across calls (no allocation in steady state).
struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  int64_t a_cap = 0, b_cap = 0;
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
  static float* grow(float*& p, int64_t& cap, int64_t need) {
    if (need > cap) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>((need + 15) / 16 * 16) * sizeof(float)));
      if (!p) throw std::bad_alloc();
      cap = need;
    }
    return p;
  }
};
thread_local PackBuffers t_pack;

// In-register transpose of an 8×8 float tile: r[i][j] -> r[j][i] (unpack pairs, shuffle 64-bit halves, swap
// 128-bit lanes).
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // a0 b0 a1 b1 | a4 b4 a5 b5
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // a2 b2 a3 b3 | a6 b6 a7 b7
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);      // column 0 | 4 of rows i..i+3
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);  // column 1 | 5
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);  // column 2 | 6
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);  // column 3 | 7
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}

// Ap[panel][k][MR] for rows [0, M) (padded with zeros), depth [k0, k0 + kc).
void pack_a(bool ta, const float* A, int64_t lda, int64_t M, int64_t k0, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < M; i0 += MR) {
    const int64_t rows = std::min(MR, M - i0);
    float* d = dst + (i0 / MR) * kc * MR;
    if (ta) {
      // op(A)(i, k) = A[k·lda + i]: rows of A are contiguous runs of i.
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = A + (k0 + k) * lda + i0;
        float* dk = d + k * MR;
        int64_t r = 0;
        for (; r < rows; ++r) dk[r] = s[r];
        for (; r < MR; ++r) dk[r] = 0.0f;
      }
    } else {
      // Rows of A are contiguous along k: 8 rows × 8 depths per step, transposed in registers (the scalar
      // strided stores this replaces cost ~1 cycle per element, as much as the GEMM spent on it for small K·N).
      for (int64_t kb = 0; kb < kc; kb += 8) {
        const int64_t kn = std::min<int64_t>(8, kc - kb);
        const __mmask8 km = static_cast<__mmask8>((1u << kn) - 1u);
        __m256 r[8];
        for (int64_t t = 0; t < MR; ++t)
          r[t] = t < rows ? _mm256_maskz_loadu_ps(km, A + (i0 + t) * lda + k0 + kb) : _mm256_setzero_ps();
        transpose8x8(r);
        for (int64_t t = 0; t < kn; ++t) _mm256_storeu_ps(d + (kb + t) * MR, r[t]);
      }
    }
  }
}

// In-register transpose of a 16×16 float tile: r[i][j] -> r[j][i]. Three rounds: interleave pairs of rows
// (unpack), then pairs of 64-bit halves (shuffle_ps), then 128-bit lanes across four and eight rows
// (shuffle_f32x4 twice).
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    u[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // u[4q + s] holds, in each 128-bit lane L, elements (column 4L + s) of rows 4q .. 4q + 3.
  for (int i = 0; i < 16; i += 8)
    for (int s = 0; s < 4; ++s) {
      t[i + s] = _mm512_shuffle_f32x4(u[i + s], u[i + 4 + s], 0x88);
      t[i + 4 + s] = _mm512_shuffle_f32x4(u[i + s], u[i + 4 + s], 0xDD);
    }
  for (int s = 0; s < 8; ++s) {
    r[s] = _mm512_shuffle_f32x4(t[s], t[8 + s], 0x88);
    r[8 + s] = _mm512_shuffle_f32x4(t[s], t[8 + s], 0xDD);
  }
}

// Bp[panel][k][NR] for columns [n0, n0 + nc), depth [k0, k0 + kc), zero-padded to whole panels.
void pack_b(bool tb, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t cols = std::min(NR, nc - j0);
    float* d = dst + (j0 / NR) * kc * NR;
    if (!tb) {
      const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
      const __mmask16 m1 = cols >= 32 ? 0xFFFF : (cols > 16 ? static_cast<__mmask16>((1u << (cols - 16)) - 1) : 0);
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = B + (k0 + k) * ldb + n0 + j0;
        _mm512_store_ps(d + k * NR, _mm512_maskz_loadu_ps(m0, s));
        _mm512_store_ps(d + k * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
      }
    } else {
      // op(B)(k, j) = B[j·ldb + k]: rows of B (fixed j) are contiguous along k. Transpose 16×16 tiles in
      // registers: 16 rows j × 16 depths k in, 16 depth rows of 16 columns out.
      for (int64_t h = 0; h < NR; h += 16) {
        for (int64_t kb = 0; kb < kc; kb += 16) {
          const int64_t kn = std::min<int64_t>(16, kc - kb);
          const __mmask16 km = kn >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << kn) - 1);
          __m512 r[16];
          for (int64_t t = 0; t < 16; ++t)
            r[t] = (h + t < cols) ? _mm512_maskz_loadu_ps(km, B + (n0 + j0 + h + t) * ldb + k0 + kb)
                                  : _mm512_setzero_ps();
          transpose16x16(r);
          for (int64_t t = 0; t < kn; ++t) _mm512_store_ps(d + (kb + t) * NR + h, r[t]);
        }
      }
    }
  }
}

// C[rows×cols tile] = (accumulate ? C : 0) + alpha · a[kc×MR]ᵀ-panel · b[kc×NR]-panel.
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t rows, int64_t cols,
                  float alpha, bool accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps(), c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b + k * NR);
    const __m512 b1 = _mm512_load_ps(b + k * NR + 16);
    const float* ak = a + k * MR;
#define LOWBIT_ROW(r)                              \
  {                                                \
    const __m512 ar = _mm512_set1_ps(ak[r]);       \
    c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);    \
    c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1);    \
  }
    LOWBIT_ROW(0) LOWBIT_ROW(1) LOWBIT_ROW(2) LOWBIT_ROW(3) LOWBIT_ROW(4) LOWBIT_ROW(5) LOWBIT_ROW(6) LOWBIT_ROW(7)
#undef LOWBIT_ROW
  }
  const __mmask16 m0 = cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xFFFF : (cols > 16 ? static_cast<__mmask16>((1u << (cols - 16)) - 1) : 0);
  const __m512 va = _mm512_set1_ps(alpha);
  auto store = [&](int64_t r, __m512 v0, __m512 v1) {
    if (r >= rows) return;
    float* cr = c + r * ldc;
    v0 = _mm512_mul_ps(v0, va);
    v1 = _mm512_mul_ps(v1, va);
    if (accumulate) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  };
  store(0, c00, c01);
  store(1, c10, c11);
  store(2, c20, c21);
  store(3, c30, c31);
  store(4, c40, c41);
  store(5, c50, c51);
  store(6, c60, c61);
  store(7, c70, c71);
}
}  // namespace

int64_t sgemm_avx512_packed_a_size(int64_t M, int64_t K) { return (M + MR - 1) / MR * MR * std::max<int64_t>(K, 0); }

// Depth block size: K split into ceil(K / KC) nearly equal blocks (K = 288 as 144 + 144, not 256 + 32: a
// 32-deep block pays the full C-tile load and store for an eighth of the multiplies).
int64_t depth_block(int64_t K) {
  const int64_t nb = (K + KC - 1) / KC;
  return nb <= 1 ? K : (K + nb - 1) / nb;
}

// All of op(A), depth block after depth block: block pc (kc = min(depth_block(K), K − pc) deep) starts at Mp·pc
// and holds pack_a's panels for that block.
void sgemm_avx512_pack_a(bool trans_a, const float* A, int64_t lda, int64_t M, int64_t K, float* dst) {
  const int64_t Mp = (M + MR - 1) / MR * MR, kb = depth_block(K);
  for (int64_t pc = 0; pc < K; pc += kb) pack_a(trans_a, A, lda, M, pc, std::min(kb, K - pc), dst + Mp * pc);
}

void sgemm_avx512_cb_packed(const float* ap, int64_t M, int64_t N, int64_t K, float alpha, PackBFn pack,
                            const void* ctx, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (beta != 0.0f && beta != 1.0f)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] *= beta;
  if (K <= 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const int64_t Mp = (M + MR - 1) / MR * MR;
  const int64_t kb = depth_block(K);
  float* bp = PackBuffers::grow(t_pack.b, t_pack.b_cap, NR * kb);
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kb) {
      const int64_t kc = std::min(kb, K - pc);
      const bool acc = pc > 0 || beta != 0.0f;
      const float* apc = ap + Mp * pc;
      for (int64_t jr = 0; jr < nc; jr += NR) {
        // One B panel at a time, packed right before the micro-kernels read it: it is written to and read
        // from L1. Packing the whole kc×NC block first (~300 KB) sent every packed value through L2 and back,
        // which made packing (im2col for conv) cost as much as the multiply for small M.
        const int64_t cols = std::min(NR, nc - jr);
        pack(ctx, pc, kc, jc + jr, cols, bp);
        for (int64_t ir = 0; ir < M; ir += MR) {
          micro_kernel(kc, apc + (ir / MR) * kc * MR, bp, C + ir * ldc + jc + jr, ldc, std::min(MR, M - ir), cols,
                       alpha, acc);
        }
      }
    }
  }
}

void sgemm_avx512_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  // A is packed once per call (not once per column block).
  float* ap = PackBuffers::grow(t_pack.a, t_pack.a_cap, sgemm_avx512_packed_a_size(M, K));
  if (K > 0) sgemm_avx512_pack_a(trans_a, A, lda, M, K, ap);
  sgemm_avx512_cb_packed(ap, M, N, K, alpha, pack, ctx, beta, C, ldc);
}

namespace {
struct DenseB {
  bool trans;
  const float* B;
  int64_t ldb;
};
void pack_dense_b(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const DenseB* d = static_cast<const DenseB*>(ctx);
  pack_b(d->trans, d->B, d->ldb, k0, kc, n0, nc, dst);
}
}  // namespace

void sgemm_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const DenseB d{trans_b, B, ldb};
  sgemm_avx512_cb(trans_a, M, N, K, alpha, A, lda, pack_dense_b, &d, beta, C, ldc);
}

}  // namespace lowbit::gemm_detail
