// bitserial with AVX2: K-vectorised, nibble-LUT popcount (drivers: kernels/bitserial/bitserial_driver.h and
// kernels/tgemm/plane_gemm_avx2.h; math and DoReFa offsets: kernels/bitserial/bitserial.h).
//
// Per (row, column) pair and 256-bit group of K: acc[i + j] += popcnt_bytes(w_i ∧ x_j) for every weight plane i
// and activation plane j; D = Σ_s acc[s] << s at the end. Shift s collects at most min(wbits, xbits) terms of ≤ 8
// per byte and group, so byte counters are flushed every ⌊255 / (8·min(wbits, xbits))⌋ groups. DoReFa: chunks
// contribute 2·D and the column base −(2^k − 1)·x_sum[n] is added once, exactly as in the AVX-512 variant.
// Register tile 1 row × 2 columns.
#include "kernels/bitserial/bitserial_driver.h"
#include "kernels/tgemm/plane_gemm_avx2.h"

namespace lowbit::kernels {
namespace {

using plane_gemm_avx2::popcnt_bytes;

template <int WB, int XB, bool DOUBLE>
struct Serial {
  static constexpr int WP = WB, XP = XB, NACC = WB + XB - 1, MR = 1, NR = 2;
  static constexpr int FLUSH = 255 / (8 * (WB < XB ? WB : XB));
  static inline void step(__m256i (&acc)[NACC], const __m256i (&w)[WP], const __m256i (&x)[XP]) {
    #pragma GCC unroll 16
    for (int i = 0; i < WB; ++i)
      #pragma GCC unroll 16
      for (int j = 0; j < XB; ++j) acc[i + j] = _mm256_add_epi8(acc[i + j], popcnt_bytes(_mm256_and_si256(w[i], x[j])));
  }
  static inline int64_t partial(const int64_t (&t)[NACC]) {
    int64_t d = 0;
    #pragma GCC unroll 16
    for (int s = 0; s < NACC; ++s) d += t[s] << s;
    return DOUBLE ? 2 * d : d;
  }
};

}  // namespace

extern const BitserialKernels kBitserialAvx2 = bitserial_driver::kernels_table<plane_gemm_avx2::Driver, Serial>();

}  // namespace lowbit::kernels
