// bitserial with AVX2: K-vectorised, nibble-LUT popcount (driver: kernels/tgemm/plane_gemm_avx2.h; math and
// DoReFa offsets: kernels/bitserial/bitserial.h).
//
// Per (row, column) pair and 256-bit group of K: acc[i + j] += popcnt_bytes(w_i ∧ x_j) for every weight plane i
// and activation plane j; D = Σ_s acc[s] << s at the end. Shift s collects at most min(wbits, xbits) terms of ≤ 8
// per byte and group, so byte counters are flushed every ⌊255 / (8·min(wbits, xbits))⌋ groups. DoReFa: chunks
// contribute 2·D and the column base −(2^k − 1)·x_sum[n] is added once, exactly as in the AVX-512 variant.
// Register tile 1 row × 2 columns.
#include <array>
#include <utility>

#include "kernels/bitserial/bitserial.h"
#include "kernels/kassert.h"
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

struct Call {
  size_t M, N, K;
  const bword* w;
  size_t ldw;
  const bword* x;
  size_t ldx;
  const int32_t* col_base;
  const float* scale;
  const float* bias;
  float scale_mul;
};

template <int WB, int XB, bool DOUBLE, class Out>
void run_widths(const Call& c, Out* out, size_t ldc, int threads) {
  const size_t words = packed_words(c.K);
  const bword* wp[WB];
  const bword* xp[XB];
  #pragma GCC unroll 16
  for (int i = 0; i < WB; ++i) wp[i] = c.w + size_t(i) * words;
  #pragma GCC unroll 16
  for (int j = 0; j < XB; ++j) xp[j] = c.x + size_t(j) * words;
  const plane_gemm::Args a{c.M, c.N, c.K, wp, c.ldw, xp, c.ldx, nullptr, c.col_base, c.scale, c.bias, c.scale_mul};
  plane_gemm_avx2::run<Serial<WB, XB, DOUBLE>>(a, out, ldc, threads);
}

template <bool DOUBLE, class Out>
using WidthFn = void (*)(const Call&, Out*, size_t, int);

template <bool DOUBLE, class Out, int... I>
constexpr auto width_table(std::integer_sequence<int, I...>) {
  return std::array<WidthFn<DOUBLE, Out>, sizeof...(I)>{run_widths<I / 4 + 1, I % 4 + 1, DOUBLE, Out>...};
}

template <bool DOUBLE, class Out>
void run_any(int wbits, int xbits, const Call& c, Out* out, size_t ldc, int threads) {
  static constexpr auto table = width_table<DOUBLE, Out>(std::make_integer_sequence<int, 16>{});
  table[size_t((wbits - 1) * 4 + (xbits - 1))](c, out, ldc, threads > 0 ? threads : default_threads());
}

inline void check(size_t M, size_t N, size_t K, int wbits, size_t ldw, int xbits, size_t ldx, size_t ldc) {
  (void)M, (void)N, (void)K, (void)wbits, (void)ldw, (void)xbits, (void)ldx, (void)ldc;
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && wbits >= 1 && wbits <= kBitserialMaxBits && xbits >= 1 &&
                 xbits <= kBitserialMaxBits && ldw >= size_t(wbits) * packed_words(K) &&
                 ldx >= size_t(xbits) * packed_words(K) && ldc >= N);
}

void bitserial_i32_avx2(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                        const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  run_any<false>(wbits, xbits, Call{M, N, K, w, ldw, x, ldx, nullptr, nullptr, nullptr, 1.0f}, c, ldc, threads);
}

constexpr size_t kColBaseChunk = 1024;

template <class Out>
void dorefa(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
            size_t ldx, const int32_t* x_sum, const float* scale, const float* bias, Out* c, size_t ldc,
            int threads) {
  int32_t base[kColBaseChunk];
  const float mul = bitserial_dorefa_inv(wbits, xbits);
  for (size_t n0 = 0; n0 < N; n0 += kColBaseChunk) {
    const size_t nn = N - n0 < kColBaseChunk ? N - n0 : kColBaseChunk;
    for (size_t n = 0; n < nn; ++n) base[n] = bitserial_dorefa_s(0, wbits, x_sum[n0 + n]);
    run_any<true>(wbits, xbits, Call{M, nn, K, w, ldw, x + n0 * ldx, ldx, base, scale, bias, mul}, c + n0, ldc,
                  threads);
  }
}

void bitserial_dorefa_i32_avx2(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                               const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc,
                               int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  dorefa(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, nullptr, nullptr, c, ldc, threads);
}

void bitserial_dorefa_f32_avx2(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                               const bword* x, size_t ldx, const int32_t* x_sum, const float* scale,
                               const float* bias, float* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  LOWBIT_KASSERT(scale != nullptr);
  dorefa(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, scale, bias, c, ldc, threads);
}

}  // namespace

extern const BitserialKernels kBitserialAvx2 = {bitserial_i32_avx2, bitserial_dorefa_i32_avx2,
                                                bitserial_dorefa_f32_avx2};

}  // namespace lowbit::kernels
