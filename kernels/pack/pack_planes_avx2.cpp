// AVX2 ternary / bit-plane packing: two 32-byte halves per packed word, bits gathered with vpmovmskb.
//
// vpmovmskb collects the top bit of each byte, so: sign plane = movemask(v) (v < 0); mask plane = ~movemask(v == 0);
// code plane i = movemask(v << (7 − i)) — a 16-bit left shift moves bit i of every byte to that byte's bit 7
// (bits carried out of the low byte land in the high byte's low bits, which movemask ignores). The last partial word is copied into a zeroed 64-byte buffer first, so absent elements read
// as 0 and yield 0 bits (the packing.h tail convention) without reading past the source.
#include <immintrin.h>

#include <cstring>

#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {
namespace {

struct Word64 {
  __m256i lo, hi;
};

inline Word64 load_word(const void* p, size_t n) {
  if (n >= 64) {
    const char* c = static_cast<const char*>(p);
    return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c)),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 32))};
  }
  alignas(32) unsigned char buf[64] = {};
  std::memcpy(buf, p, n);
  return {_mm256_load_si256(reinterpret_cast<const __m256i*>(buf)),
          _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + 32))};
}

inline bword movemask64(__m256i lo, __m256i hi) {
  return bword(uint32_t(_mm256_movemask_epi8(lo))) | (bword(uint32_t(_mm256_movemask_epi8(hi))) << 32);
}

bool pack_ternary_planes_avx2(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                              size_t ldd) {
  const size_t words = packed_words(k);
  const __m256i one = _mm256_set1_epi8(1), minus_one = _mm256_set1_epi8(-1), zero = _mm256_setzero_si256();
  __m256i bad = zero;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    for (size_t w = 0; w < words; ++w) {
      const size_t n = k - w * kBitsPerWord;
      const Word64 v = load_word(s + w * kBitsPerWord, n < 64 ? n : 64);
      bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi8(v.lo, one), _mm256_cmpgt_epi8(minus_one, v.lo)));
      bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpgt_epi8(v.hi, one), _mm256_cmpgt_epi8(minus_one, v.hi)));
      mask[r * ldd + w] = ~movemask64(_mm256_cmpeq_epi8(v.lo, zero), _mm256_cmpeq_epi8(v.hi, zero));
      sign[r * ldd + w] = movemask64(v.lo, v.hi);
    }
  }
  return _mm256_testz_si256(bad, bad) != 0;
}

bool pack_bit_planes_avx2(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst,
                          size_t ldd) {
  const size_t words = packed_words(k);
  const __m256i max_code = _mm256_set1_epi8(static_cast<char>((1u << bits) - 1));
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lds;
    bword* row = dst + r * ldd;
    for (size_t w = 0; w < words; ++w) {
      const size_t n = k - w * kBitsPerWord;
      const Word64 v = load_word(s + w * kBitsPerWord, n < 64 ? n : 64);
      // max_epu8(v, max) == max  ⇔  v ≤ max for every byte.
      ok &= movemask64(_mm256_cmpeq_epi8(_mm256_max_epu8(v.lo, max_code), max_code),
                       _mm256_cmpeq_epi8(_mm256_max_epu8(v.hi, max_code), max_code)) == ~bword{0};
      for (int b = 0; b < bits; ++b) {
        const __m128i shift = _mm_cvtsi32_si128(7 - b);
        row[size_t(b) * words + w] = movemask64(_mm256_sll_epi16(v.lo, shift), _mm256_sll_epi16(v.hi, shift));
      }
    }
  }
  return ok;
}

}  // namespace

extern const PackPlanesKernels kPackPlanesAvx2 = {pack_ternary_planes_avx2, pack_bit_planes_avx2};

}  // namespace lowbit::kernels
