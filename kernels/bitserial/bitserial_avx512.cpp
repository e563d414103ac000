// bitserial with AVX-512 VPOPCNTDQ, vectorised over N (driver and panel layout:
// kernels/tgemm/plane_gemm_avx512.h; math and DoReFa offsets: kernels/bitserial/bitserial.h).
//
// For weight row r, word k, weight plane i (broadcast from memory) and activation plane j (8 columns per zmm):
//   acc[i + j] += popcnt(w_i ∧ x_j)            one and + popcount + add per 512 bit-products
// keeping one accumulator per shift s = i + j (wbits + xbits − 1 of them) instead of shifting every popcount;
// the chunk's partial is D = Σ_s acc[s] << s. The DoReFa result S = 2·D − (2^k − 1)·x_sum[n] is linear in D, so
// chunks contribute 2·D and the column term −(2^k − 1)·x_sum[n] is added once as the column base.
// Register tile: MR rows × 16 columns with MR = max(1, 12 / (2·(wbits + xbits − 1))) (≤ 14 accumulators).
// One instantiation per (wbits, xbits) ∈ [1, 4]²; a table indexed by the widths picks it (bitserial_driver.h).
#include "kernels/bitserial/bitserial_driver.h"
#include "kernels/tgemm/plane_gemm_avx512.h"

namespace lowbit::kernels {
namespace {

using plane_gemm::bcast;

template <int WB, int XB, bool DOUBLE>
struct Serial {
  static constexpr int WP = WB, XP = XB, NACC = WB + XB - 1, NV = 2;
  static constexpr int MR = 12 / (2 * NACC) > 0 ? 12 / (2 * NACC) : 1;
  template <int R>
  static inline void step(__m512i (&acc)[R][NV][NACC], const bword* const (&w)[R][WP], size_t k, const __m512i* xk) {
    #pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
      #pragma GCC unroll 16
      for (int i = 0; i < WB; ++i) {
        const __m512i wi = bcast(w[r][i] + k);
        #pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          #pragma GCC unroll 16
          for (int j = 0; j < XB; ++j)
            acc[r][v][i + j] = _mm512_add_epi64(acc[r][v][i + j], _mm512_popcnt_epi64(_mm512_and_si512(wi, xk[j * NV + v])));
      }
  }
  static inline __m512i partial(const __m512i (&acc)[NACC]) {
    __m512i d = acc[0];
    for (int s = 1; s < NACC; ++s) d = _mm512_add_epi64(d, _mm512_maskz_slli_epi64(0xFF, acc[s], s));
    return DOUBLE ? _mm512_maskz_slli_epi64(0xFF, d, 1) : d;
  }
};

}  // namespace

extern const BitserialKernels kBitserialAvx512 = bitserial_driver::kernels_table<plane_gemm::Driver, Serial>();

}  // namespace lowbit::kernels
