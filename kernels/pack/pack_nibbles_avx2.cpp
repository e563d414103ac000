// AVX2 int4 / int2 packing. Fields are combined with vpmaddubsw against constant multipliers:
//   int4: (v & 0xF) · [1, 16] pairwise → 16-bit lanes x0 + 16·x1 (< 256), i.e. the packed byte;
//   int2: (v & 0x3) · [1, 4] pairwise → x0 + 4·x1, then vpmaddwd · [1, 16] → x0 + 4x1 + 16x2 + 64x3 (< 256).
// vpshufb then gathers the low byte of every 16-bit (32-bit) lane and the two 128-bit halves are stored. Range
// checks are byte compares OR-ed into one register. The ragged end of a row (fewer than 32 values) goes through
// the reference code, which writes the unused high fields of the last byte as 0 (pack_rows below).
#include <immintrin.h>

#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {
namespace {

inline __m256i out_of(__m256i v, int lo, int hi) {
  return _mm256_or_si256(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(static_cast<char>(hi))),
                         _mm256_cmpgt_epi8(_mm256_set1_epi8(static_cast<char>(lo)), v));
}

// Packs every row: chunk(v, d) stores the 32·BITS/8 packed bytes of 32 values v at d; a row's ragged end
// (< 32 values) goes through the reference. Range checks are byte compares OR-ed into one register.
template <int BITS, class Chunk>
bool pack_rows(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd, Chunk chunk) {
  constexpr int kLo = -(1 << (BITS - 1)), kHi = (1 << (BITS - 1)) - 1;
  constexpr auto ref = BITS == 4 ? pack_i4_ref : pack_i2_ref;
  __m256i bad = _mm256_setzero_si256();
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    uint8_t* d = dst + r * ldd;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
      bad = _mm256_or_si256(bad, out_of(v, kLo, kHi));
      chunk(v, d + i * BITS / 8);
    }
    if (i < k) ok &= ref(s + i, 1, k - i, lds, d + i * BITS / 8, ldd);
  }
  return ok && _mm256_testz_si256(bad, bad);
}

bool pack_i4_avx2(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  const __m256i nib = _mm256_set1_epi8(0x0F), mul = _mm256_set1_epi16(0x1001);  // bytes [1, 16]
  const __m256i gather = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                          0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  return pack_rows<4>(src, rows, k, lds, dst, ldd, [&](__m256i v, uint8_t* d) {
    const __m256i p = _mm256_shuffle_epi8(_mm256_maddubs_epi16(_mm256_and_si256(v, nib), mul), gather);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d), _mm256_castsi256_si128(p));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 8), _mm256_extracti128_si256(p, 1));
  });
}

bool pack_i2_avx2(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  const __m256i crumb = _mm256_set1_epi8(0x03), mul8 = _mm256_set1_epi16(0x0401), mul16 = _mm256_set1_epi32(0x00100001);
  const __m256i gather = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                          0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  return pack_rows<2>(src, rows, k, lds, dst, ldd, [&](__m256i v, uint8_t* d) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_and_si256(v, crumb), mul8);
    const __m256i p = _mm256_shuffle_epi8(_mm256_madd_epi16(pairs, mul16), gather);
    const uint32_t lo = static_cast<uint32_t>(_mm256_cvtsi256_si32(p));
    const uint32_t hi = static_cast<uint32_t>(_mm256_extract_epi32(p, 4));
    const uint64_t both = uint64_t(lo) | (uint64_t(hi) << 32);
    __builtin_memcpy(d, &both, 8);
  });
}

}  // namespace

extern const PackNibblesKernels kPackNibblesAvx2 = {pack_i4_avx2, pack_i2_avx2};

}  // namespace lowbit::kernels
