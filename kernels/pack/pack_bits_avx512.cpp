// AVX-512 sign packing.
//
// Rows: 16 floats per `vcmpps k, x, 0, LT_OQ`; four 16-bit masks are one 64-bit word (mask i → bits 16i..16i+15).
// LT_OQ is false for NaN and for −0, exactly like sign_bit(). The row tail is loaded with a zero-masking load, so
// the missing lanes compare as 0.0 (not negative) and the tail bits come out 0.
//
// NCHW → NHWC bits is a bit-matrix transpose: channels run along a word, but in NCHW the contiguous direction is
// the pixel. For a block of 64 channels × 16 pixels we compare 16 pixels of each channel (one 16-bit mask per
// channel) and keep byte c of two 64-byte buffers = pixels 0..7 / 8..15 of channel c. In such a buffer bit j of
// byte c is "channel c of pixel j is negative", so `vptestmb` against the constant 1 << j returns a 64-bit mask whose
// bit c is exactly that: the packed word of pixel j. Eight vptestmb per 8 pixels finish the transpose. Channels
// ≥ C keep zero bytes, so channel tails are 0.
//
// Sign bytes: `vpmovb2m` turns 64 int8 into their 64 sign bits, one word; the row tail is a zero-masking load.
#include <immintrin.h>

#include "kernels/kassert.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

namespace {

inline bword pack64_avx512(const float* s, size_t valid) {
  const __m512 zero = _mm512_setzero_ps();
  bword word = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t base = static_cast<size_t>(i) * 16;
    if (base >= valid) break;
    const size_t n = valid - base;
    const __mmask16 lanes = n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(lanes, s + base);
    word |= static_cast<bword>(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ)) << base;
  }
  return word;
}

void pack_sign_rows_avx512(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                           size_t dst_stride) {
  const size_t words = packed_words(cols), full = cols / kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= words);
  const __m512 zero = _mm512_setzero_ps();
  for (size_t r = 0; r < rows; ++r) {
    const float* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) {
      const float* p = s + w * kBitsPerWord;
      const bword m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p), zero, _CMP_LT_OQ);
      const bword m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 16), zero, _CMP_LT_OQ);
      const bword m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 32), zero, _CMP_LT_OQ);
      const bword m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + 48), zero, _CMP_LT_OQ);
      d[w] = m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
    }
    if (full < words) d[full] = pack64_avx512(s + full * kBitsPerWord, cols - full * kBitsPerWord);
  }
}

void pack_nchw_to_nhwc_bits_avx512(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst) {
  const size_t words = packed_words(c), hw = h * w;
  const __m512 zero = _mm512_setzero_ps();
  alignas(64) uint8_t lo[64], hi[64];
  __m512i bit[8];
  for (int j = 0; j < 8; ++j) bit[j] = _mm512_set1_epi8(static_cast<char>(1u << j));
  for (size_t b = 0; b < n; ++b) {
    const float* img = src + b * c * hw;
    bword* out = dst + b * hw * words;
    for (size_t cw = 0; cw < words; ++cw) {
      const size_t c0 = cw * kBitsPerWord, cn = c - c0 < kBitsPerWord ? c - c0 : kBitsPerWord;
      for (size_t p0 = 0; p0 < hw; p0 += 16) {
        const size_t pn = hw - p0 < 16 ? hw - p0 : 16;
        const __mmask16 lanes = pn == 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << pn) - 1);
        _mm512_store_si512(lo, _mm512_setzero_si512());
        _mm512_store_si512(hi, _mm512_setzero_si512());
        for (size_t ch = 0; ch < cn; ++ch) {
          const __m512 x = _mm512_maskz_loadu_ps(lanes, img + (c0 + ch) * hw + p0);
          const unsigned m = _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
          lo[ch] = static_cast<uint8_t>(m);
          hi[ch] = static_cast<uint8_t>(m >> 8);
        }
        const __m512i vlo = _mm512_load_si512(lo), vhi = _mm512_load_si512(hi);
        for (size_t j = 0; j < pn; ++j) {
          const __m512i v = j < 8 ? vlo : vhi;
          out[(p0 + j) * words + cw] = _mm512_test_epi8_mask(v, bit[j % 8]);
        }
      }
    }
  }
}

void unpack_sign_rows_avx512(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                             size_t dst_stride) {
  LOWBIT_KASSERT(src_stride >= packed_words(cols) && dst_stride >= cols);
  const __m512 plus = _mm512_set1_ps(1.0f), minus = _mm512_set1_ps(-1.0f);
  for (size_t r = 0; r < rows; ++r) {
    const bword* s = src + r * src_stride;
    float* d = dst + r * dst_stride;
    for (size_t k = 0; k < cols; k += 16) {
      const __mmask16 bits = static_cast<__mmask16>(s[k / kBitsPerWord] >> (k % kBitsPerWord));
      const __m512 v = _mm512_mask_blend_ps(bits, plus, minus);
      const size_t n = cols - k;
      if (n >= 16)
        _mm512_storeu_ps(d + k, v);
      else
        _mm512_mask_storeu_ps(d + k, static_cast<__mmask16>((1u << n) - 1), v);
    }
  }
}

// 64 sign bytes → one word (AVX-512BW vpmovb2m: the top bit of each byte); the tail is a zero-masking load.
void pack_sign_bytes_avx512(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                            size_t dst_stride) {
  const size_t full = cols / kBitsPerWord, rest = cols % kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= packed_words(cols));
  const __mmask64 tail = rest ? (~__mmask64{0} >> (kBitsPerWord - rest)) : 0;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) d[w] = _mm512_movepi8_mask(_mm512_loadu_si512(s + w * kBitsPerWord));
    if (rest) d[full] = _mm512_movepi8_mask(_mm512_maskz_loadu_epi8(tail, s + full * kBitsPerWord));
  }
}

}  // namespace

extern const PackBitsKernels kPackBitsAvx512;
const PackBitsKernels kPackBitsAvx512 = {pack_sign_rows_avx512, pack_nchw_to_nhwc_bits_avx512,
                                         unpack_sign_rows_avx512, pack_sign_bytes_avx512};

}  // namespace lowbit::kernels
