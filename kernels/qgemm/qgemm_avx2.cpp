// qgemm with AVX2 (vpmaddubsw + vpmaddwd): int2 / int4 / int8 weights × u8 (zero point) or s8 activations.
//
// Same packed layout and offset-code algebra as the VNNI variant (kernels/qgemm/qgemm.h): a 64-byte block of a
// 16-row panel is processed as two ymm halves (rows 0–7, 8–15), each lane holding 4 consecutive k of one row.
//
// int2 / int4 (codes u ≤ 15): vpmaddubsw(u8 operand, s8 operand) forms u·x pair sums in int16 — at most
// 2·255·15 = 7650 in magnitude, so the 4 (int2) or 2 (int4) groups of one block are summed in int16 without
// saturation (≤ 30600 < 32767) before a single vpmaddwd(·, 1) widens the pairs to int32 — one widening per block
// instead of per group. Operand order as in VNNI: u8 activations are the unsigned operand with the codes as
// signed bytes; s8 activations are the signed operand with the codes as unsigned bytes.
//
// int8 (u up to 255 with s8 activations, or raw s8 weights with u8 activations): vpmaddubsw could saturate
// (255·127·2 > 32767), so bytes are widened to 16 bits (even bytes: shift left then arithmetic/logical right by
// 8; odd bytes: shift right by 8) and multiplied with vpmaddwd, which is exact.
//
// Register tile: one panel (2 halves) × NR columns (NR = 4 for GEMM, 1 for GEMV with prefetch); the work split
// and column tails follow qgemm_driver.h as in the VNNI variant.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/qgemm/qgemm_driver.h"

namespace lowbit::kernels {
namespace {

using qgemm_detail::Epilogue;

template <QWeight WT>
constexpr int groups_per_block() {
  return WT == QWeight::i2 ? 4 : (WT == QWeight::i4 ? 2 : 1);
}

template <QWeight WT>
inline __m256i unpack(__m256i p, int q) {
  if constexpr (WT == QWeight::i8) {
    (void)q;
    return p;
  } else {
    constexpr int bits = WT == QWeight::i2 ? 2 : 4;
    const __m256i m = _mm256_set1_epi8(WT == QWeight::i2 ? 0x03 : 0x0F);
    return _mm256_and_si256(_mm256_srl_epi16(p, _mm_cvtsi32_si128(bits * q)), m);
  }
}

inline __m256i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

inline int32_t row_sum(const uint8_t* x, size_t K, bool s8) {
  const __m256i flip = s8 ? _mm256_set1_epi8(char(0x80)) : _mm256_setzero_si256();
  __m256i acc = _mm256_setzero_si256();
  size_t k = 0;
  for (; k + 32 <= K; k += 32)
    acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + k)), flip),
                                                _mm256_setzero_si256()));
  alignas(32) int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
  int64_t total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; k < K; ++k) total += s8 ? int64_t(static_cast<int8_t>(x[k])) + 128 : x[k];
  return static_cast<int32_t>(total - (s8 ? int64_t(128) * int64_t(K) : 0));
}

// Exact 16-bit dot of 4-byte groups: unsigned side `u`, signed side `s` (both as 32 bytes).
inline __m256i dot4_exact(__m256i u, __m256i s) {
  const __m256i lo8 = _mm256_set1_epi16(0x00FF);
  const __m256i u_even = _mm256_and_si256(u, lo8), u_odd = _mm256_srli_epi16(u, 8);
  const __m256i s_even = _mm256_srai_epi16(_mm256_slli_epi16(s, 8), 8), s_odd = _mm256_srai_epi16(s, 8);
  return _mm256_add_epi32(_mm256_madd_epi16(u_even, s_even), _mm256_madd_epi16(u_odd, s_odd));
}

template <QWeight WT, bool S8, int NR, bool PREFETCH, class Out>
void tile(const QgemmWeights& w, size_t panel_bytes, size_t p0, const uint8_t* const* xr, size_t n0, size_t ncols,
          const int32_t* xsum, const Epilogue& e, Out* c, size_t ldc) {
  constexpr int G = groups_per_block<WT>();
  const size_t blocks = panel_bytes / 64;
  const uint8_t* pp = w.data + p0 * panel_bytes;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[2][NR];
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h)
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) acc[h][j] = _mm256_setzero_si256();
  for (size_t b = 0; b < blocks; ++b) {
    if constexpr (PREFETCH) _mm_prefetch(reinterpret_cast<const char*>(pp + 64 * (b + 16)), _MM_HINT_T0);
    #pragma GCC unroll 16
    for (int h = 0; h < 2; ++h) {
      const __m256i p = _mm256_load_si256(reinterpret_cast<const __m256i*>(pp + 64 * b + 32 * h));
      if constexpr (WT == QWeight::i8) {
        #pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
          const __m256i x = bcast4(xr[j] + 4 * b);
          acc[h][j] = _mm256_add_epi32(acc[h][j], S8 ? dot4_exact(p, x) : dot4_exact(x, p));
        }
      } else {
        __m256i u[G];
        #pragma GCC unroll 16
        for (int q = 0; q < G; ++q) u[q] = unpack<WT>(p, q);
        #pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
          __m256i t = _mm256_setzero_si256();
          #pragma GCC unroll 16
          for (int q = 0; q < G; ++q) {
            const __m256i x = bcast4(xr[j] + 4 * (b * G + q));
            t = _mm256_add_epi16(t, S8 ? _mm256_maddubs_epi16(u[q], x) : _mm256_maddubs_epi16(x, u[q]));
          }
          acc[h][j] = _mm256_add_epi32(acc[h][j], _mm256_madd_epi16(t, ones));
        }
      }
    }
  }
  const size_t m0 = p0 * 16;
  const size_t rows = w.M - m0 < 16 ? w.M - m0 : 16;
  alignas(32) Out buf[NR][16];
  #pragma GCC unroll 16
  for (int h = 0; h < 2; ++h) {
    const __m256i zw = _mm256_mullo_epi32(_mm256_set1_epi32(e.zp),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.wsum + m0 + 8 * h)));
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const __m256i v = _mm256_sub_epi32(_mm256_sub_epi32(acc[h][j], _mm256_set1_epi32(e.off * xsum[j])), zw);
      if constexpr (std::is_same_v<Out, int32_t>) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(buf[j] + 8 * h), v);
      } else {
        alignas(32) int32_t iv[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(iv), v);
        for (int l = 0; l < 8; ++l) {
          const size_t m = m0 + 8 * h + l;
          buf[j][8 * h + l] = m < w.M ? e.scale[m] * float(iv[l]) + (e.bias ? e.bias[m] : 0.0f) : 0.0f;
        }
      }
    }
  }
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < ncols; ++j) c[(m0 + r) * ldc + n0 + j] = buf[j][r];
}

template <QWeight WT, bool S8, int NR, bool PREFETCH, class Out>
void run_tiles(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, const Epilogue& e, Out* c, size_t ldc,
               int threads) {
  const size_t panel_bytes = qgemm_packed_bytes(WT, w.M, w.K) / qgemm_panels(w.M);
  qgemm_detail::for_each_tile<1, NR>(
      w, panel_bytes, N, x, ldx, threads, [&](const uint8_t* xr) { return row_sum(xr, w.K, S8); },
      [&](auto /*one panel*/, size_t p, const uint8_t* const* xr, size_t n0, size_t ncols, const int32_t* xsum) {
        tile<WT, S8, NR, PREFETCH>(w, panel_bytes, p, xr, n0, ncols, xsum, e, c, ldc);
      });
}

// The driver policy (kernels/qgemm/qgemm_driver.h): one panel × 4 columns; GEMV (N = 1) one column with prefetch.
struct Avx2 {
  template <QWeight WT, bool S8, class Out>
  static void run(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, const Epilogue& e, Out* c,
                  size_t ldc, int threads) {
    if (N == 1) return run_tiles<WT, S8, 1, true>(w, N, x, ldx, e, c, ldc, threads);
    run_tiles<WT, S8, 4, false>(w, N, x, ldx, e, c, ldc, threads);
  }
};

}  // namespace

extern const QgemmKernels kQgemmAvx2 = qgemm_detail::kernels_table<Avx2>();

}  // namespace lowbit::kernels
