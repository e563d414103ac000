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
#include "kernels/tgemm/plane_gemm_avx512.h"
#include "kernels/tgemm/tgemm_driver.h"

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

}  // namespace

extern const TgemmKernels kTgemmAvx512 = tgemm_driver::kernels_table<plane_gemm::Driver, T2B1, T2T2>();

}  // namespace lowbit::kernels
