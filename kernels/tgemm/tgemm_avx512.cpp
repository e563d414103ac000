// tgemm with AVX-512 VPOPCNTDQ, vectorised over N (driver and panel layout: kernels/tgemm/plane_gemm_avx512.h).
//
// t2 × b1, per weight row r and word k (m, s broadcast from the row, a = 8 activation columns):
//   neg += popcnt(vpternlogq(m, s, a, 0x60))          0x60 = A ∧ (B ⊕ C): the positions where w·x = −1
//   dot  = nnz[r] − 2·neg                              (nnz = popcount(mask), precomputed per row)
// One ternlog + popcount + add per 512 (row, column, k) triples: the same 3-op loop as binary XNOR-popcount.
// Register tile 4 rows × 24 columns (12 accumulators, 3 panel vectors).
//
// t2 × t2, with t = mw ∧ mx:
//   both += popcnt(t);  neg += popcnt(vpternlogq(t, sw, sx, 0x60));   dot = both − 2·neg
// (and + ternlog + 2 popcounts + 2 adds per 512 triples). Register tile 3 rows × 16 columns.
// The per-chunk partial is linear (−2·neg, both − 2·neg) so K chunks add up in C; nnz is the row base.
#include "kernels/kassert.h"
#include "kernels/tgemm/plane_gemm_avx512.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels {
namespace {

using plane_gemm::bcast;

struct T2B1 {
  static constexpr int WP = 2, XP = 1, NACC = 1, MR = 4, NV = 3;
  template <int R>
  static inline void step(__m512i (&acc)[R][NV][NACC], const bword* const (&w)[R][WP], size_t k, const __m512i* xk) {
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512i m = bcast(w[r][0] + k), s = bcast(w[r][1] + k);
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v)
        acc[r][v][0] = _mm512_add_epi64(acc[r][v][0], _mm512_popcnt_epi64(_mm512_ternarylogic_epi64(m, s, xk[v], 0x60)));
    }
  }
  static inline __m512i partial(const __m512i (&acc)[NACC]) {
    return _mm512_sub_epi64(_mm512_setzero_si512(), _mm512_maskz_slli_epi64(0xFF, acc[0], 1));
  }
};

struct T2T2 {
  static constexpr int WP = 2, XP = 2, NACC = 2, MR = 3, NV = 2;
  template <int R>
  static inline void step(__m512i (&acc)[R][NV][NACC], const bword* const (&w)[R][WP], size_t k, const __m512i* xk) {
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512i m = bcast(w[r][0] + k), s = bcast(w[r][1] + k);
      #pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const __m512i t = _mm512_and_si512(m, xk[v]);
        acc[r][v][0] = _mm512_add_epi64(acc[r][v][0], _mm512_popcnt_epi64(t));
        acc[r][v][1] = _mm512_add_epi64(acc[r][v][1], _mm512_popcnt_epi64(_mm512_ternarylogic_epi64(t, s, xk[NV + v], 0x60)));
      }
    }
  }
  static inline __m512i partial(const __m512i (&acc)[NACC]) {
    return _mm512_sub_epi64(acc[0], _mm512_maskz_slli_epi64(0xFF, acc[1], 1));
  }
};

plane_gemm::Args args(size_t M, size_t N, size_t K, const bword* const* wp, size_t ldw, const bword* const* xp,
                      size_t ldx, const int32_t* row_base, const float* scale, const float* bias) {
  return plane_gemm::Args{M, N, K, wp, ldw, xp, ldx, row_base, nullptr, scale, bias, 1.0f};
}

inline int nthreads(int t) { return t > 0 ? t : default_threads(); }

void tgemm_t2b1_i32_avx512(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                           const int32_t* w_nnz, const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= packed_words(K) && ldx >= packed_words(K) && ldc >= N);
  const bword* wp[2] = {wmask, wsign};
  const bword* xp[1] = {x};
  plane_gemm::run<T2B1>(args(M, N, K, wp, ldw, xp, ldx, w_nnz, nullptr, nullptr), c, ldc, nthreads(threads));
}

void tgemm_t2b1_f32_avx512(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                           const int32_t* w_nnz, const bword* x, size_t ldx, const float* scale, const float* bias,
                           float* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= packed_words(K) && ldx >= packed_words(K) && ldc >= N && scale);
  const bword* wp[2] = {wmask, wsign};
  const bword* xp[1] = {x};
  plane_gemm::run<T2B1>(args(M, N, K, wp, ldw, xp, ldx, w_nnz, scale, bias), c, ldc, nthreads(threads));
}

void tgemm_t2t2_i32_avx512(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                           const bword* xmask, const bword* xsign, size_t ldx, int32_t* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= packed_words(K) && ldx >= packed_words(K) && ldc >= N);
  const bword* wp[2] = {wmask, wsign};
  const bword* xp[2] = {xmask, xsign};
  plane_gemm::run<T2T2>(args(M, N, K, wp, ldw, xp, ldx, nullptr, nullptr, nullptr), c, ldc, nthreads(threads));
}

void tgemm_t2t2_f32_avx512(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                           const bword* xmask, const bword* xsign, size_t ldx, const float* scale, const float* bias,
                           float* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= packed_words(K) && ldx >= packed_words(K) && ldc >= N && scale);
  const bword* wp[2] = {wmask, wsign};
  const bword* xp[2] = {xmask, xsign};
  plane_gemm::run<T2T2>(args(M, N, K, wp, ldw, xp, ldx, nullptr, scale, bias), c, ldc, nthreads(threads));
}

}  // namespace

extern const TgemmKernels kTgemmAvx512 = {tgemm_t2b1_i32_avx512, tgemm_t2b1_f32_avx512, tgemm_t2t2_i32_avx512,
                                          tgemm_t2t2_f32_avx512};

}  // namespace lowbit::kernels
