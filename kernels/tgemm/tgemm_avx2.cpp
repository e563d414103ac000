// tgemm with AVX2: K-vectorised, nibble-LUT popcount (driver: kernels/tgemm/plane_gemm_avx2.h).
//
// Per (row, column) pair and 256-bit group of K (4 words of each plane):
//   t2 × b1:  neg  += popcnt(m ∧ (s ⊕ a))                      dot = nnz − 2·neg
//   t2 × t2:  both += popcnt(t),  neg += popcnt(t ∧ (sw ⊕ sx)),  t = mw ∧ mx;   dot = both − 2·neg
// Byte counts grow by ≤ 8 per group, so they are flushed to 64-bit lanes (vpsadbw) every 31 groups.
// Register tile 2 rows × 2 columns.
#include "kernels/tgemm/plane_gemm_avx2.h"
#include "kernels/tgemm/tgemm_driver.h"

namespace lowbit::kernels {
namespace {

using plane_gemm_avx2::popcnt_bytes;

struct T2B1 {
  static constexpr int WP = 2, XP = 1, NACC = 1, FLUSH = 31, MR = 2, NR = 2;
  static inline void step(__m256i (&acc)[NACC], const __m256i (&w)[WP], const __m256i (&x)[XP]) {
    acc[0] = _mm256_add_epi8(acc[0], popcnt_bytes(_mm256_and_si256(w[0], _mm256_xor_si256(w[1], x[0]))));
  }
  static inline int64_t partial(const int64_t (&t)[NACC]) { return -2 * t[0]; }
};

struct T2T2 {
  static constexpr int WP = 2, XP = 2, NACC = 2, FLUSH = 31, MR = 2, NR = 2;
  static inline void step(__m256i (&acc)[NACC], const __m256i (&w)[WP], const __m256i (&x)[XP]) {
    const __m256i t = _mm256_and_si256(w[0], x[0]);
    acc[0] = _mm256_add_epi8(acc[0], popcnt_bytes(t));
    acc[1] = _mm256_add_epi8(acc[1], popcnt_bytes(_mm256_and_si256(t, _mm256_xor_si256(w[1], x[1]))));
  }
  static inline int64_t partial(const int64_t (&t)[NACC]) { return t[0] - 2 * t[1]; }
};

}  // namespace

extern const TgemmKernels kTgemmAvx2 = tgemm_driver::kernels_table<plane_gemm_avx2::Driver, T2B1, T2T2>();

}  // namespace lowbit::kernels
