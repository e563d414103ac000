// AVX-512BW ternary / bit-plane packing: one 64-byte load gives one packed word per plane.
//
// A zmm of 64 int8 values maps to one bword through byte-mask instructions: mask plane = test(v, v) (v ≠ 0),
// sign plane = movepi8_mask(v) (the byte's top bit, i.e. v < 0), code plane i = test(v, 1 << i). The last
// partial word is read with a zero-masked load (no over-read of the source), and because absent bytes read as 0
// they produce 0 bits: the tail convention of kernels/packing.h holds by construction. Range checks are byte
// compares OR-ed into one mask and inspected once per row.
#include <immintrin.h>

#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {
namespace {

inline __m512i load_tail(const void* p, size_t n) {  // n ≤ 64 bytes
  const __mmask64 m = n >= 64 ? ~__mmask64{0} : ((__mmask64{1} << n) - 1);
  return _mm512_maskz_loadu_epi8(m, p);
}

bool pack_ternary_planes_avx512(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                                size_t ldd) {
  const size_t words = packed_words(k);
  const __m512i one = _mm512_set1_epi8(1), minus_one = _mm512_set1_epi8(-1);
  __mmask64 bad = 0;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    for (size_t w = 0; w < words; ++w) {
      const size_t n = k - w * kBitsPerWord;
      const __m512i v = load_tail(s + w * kBitsPerWord, n < 64 ? n : 64);
      bad |= _mm512_cmpgt_epi8_mask(v, one) | _mm512_cmplt_epi8_mask(v, minus_one);
      mask[r * ldd + w] = _mm512_test_epi8_mask(v, v);
      sign[r * ldd + w] = _mm512_movepi8_mask(v);
    }
  }
  return bad == 0;
}

bool pack_bit_planes_avx512(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst,
                            size_t ldd) {
  const size_t words = packed_words(k);
  const __m512i max_code = _mm512_set1_epi8(static_cast<char>((1u << bits) - 1));
  __mmask64 bad = 0;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lds;
    bword* row = dst + r * ldd;
    for (size_t w = 0; w < words; ++w) {
      const size_t n = k - w * kBitsPerWord;
      const __m512i v = load_tail(s + w * kBitsPerWord, n < 64 ? n : 64);
      bad |= _mm512_cmpgt_epu8_mask(v, max_code);
      for (int b = 0; b < bits; ++b)
        row[size_t(b) * words + w] = _mm512_test_epi8_mask(v, _mm512_set1_epi8(static_cast<char>(1u << b)));
    }
  }
  return bad == 0;
}

}  // namespace

extern const PackPlanesKernels kPackPlanesAvx512 = {pack_ternary_planes_avx512, pack_bit_planes_avx512};

}  // namespace lowbit::kernels
