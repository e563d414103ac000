// bitserial with AVX-512 VPOPCNTDQ, vectorised over N (driver and panel layout:
// kernels/tgemm/plane_gemm_avx512.h; math and DoReFa offsets: kernels/bitserial/bitserial.h).
//
// For weight row r, word k, weight plane i (broadcast from memory) and activation plane j (8 columns per zmm):
//   acc[i + j] += popcnt(w_i ∧ x_j)            one and + popcount + add per 512 bit-products
// keeping one accumulator per shift s = i + j (wbits + xbits − 1 of them) instead of shifting every popcount;
// the chunk's partial is D = Σ_s acc[s] << s. The DoReFa result S = 2·D − (2^k − 1)·x_sum[n] is linear in D, so
// chunks contribute 2·D and the column term −(2^k − 1)·x_sum[n] is added once as the column base.
// Register tile: MR rows × 16 columns with MR = max(1, 12 / (2·(wbits + xbits − 1))) (≤ 14 accumulators).
// One instantiation per (wbits, xbits) ∈ [1, 4]²; a table indexed by the widths picks it.
#include <array>
#include <utility>

#include "kernels/bitserial/bitserial.h"
#include "kernels/kassert.h"
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
  plane_gemm::run<Serial<WB, XB, DOUBLE>>(a, out, ldc, threads);
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

void bitserial_i32_avx512(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                          const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  run_any<false>(wbits, xbits, Call{M, N, K, w, ldw, x, ldx, nullptr, nullptr, nullptr, 1.0f}, c, ldc, threads);
}

// Column base −(2^k − 1)·x_sum[n] for up to kColBaseChunk columns at a time (stack, no allocation).
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

void bitserial_dorefa_i32_avx512(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                                 const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc,
                                 int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  dorefa(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, nullptr, nullptr, c, ldc, threads);
}

void bitserial_dorefa_f32_avx512(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                                 const bword* x, size_t ldx, const int32_t* x_sum, const float* scale,
                                 const float* bias, float* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  LOWBIT_KASSERT(scale != nullptr);
  dorefa(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, scale, bias, c, ldc, threads);
}

}  // namespace

extern const BitserialKernels kBitserialAvx512 = {bitserial_i32_avx512, bitserial_dorefa_i32_avx512,
                                                  bitserial_dorefa_f32_avx512};

}  // namespace lowbit::kernels
