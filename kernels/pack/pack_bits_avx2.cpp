// AVX2 sign packing.
//
// Rows: 8 floats per `vcmpps LT_OQ` + `vmovmskps` (one byte of the word per compare). LT_OQ is false for NaN and
// −0, like sign_bit(). The row tail goes through a zero-filled stack copy, so the missing lanes read 0.0 and their
// bits are 0.
//
// NCHW → NHWC bits transposes an 8-pixel × 64-channel bit block: byte c of a 64-byte buffer holds the sign bits of
// channel c for pixels 0..7. Shifting every byte left by 7 − j moves bit j to the byte's top bit, where
// `vpmovmskb` collects it: two ymm halves give the 64-bit word of pixel j (bit c = channel c). Channels ≥ C keep
// zero bytes, so channel tails are 0.
//
// Sign bytes: `vpmovmskb` of 32 int8 is exactly their 32 sign bits; two per word, the tail through a zeroed copy.
#include <immintrin.h>

#include <cstring>

#include "kernels/kassert.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

namespace {

inline bword pack64_avx2(const float* p) {
  const __m256 zero = _mm256_setzero_ps();
  bword word = 0;
  for (int i = 0; i < 8; ++i) {
    const unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + 8 * i), zero, _CMP_LT_OQ)));
    word |= static_cast<bword>(m) << (8 * i);
  }
  return word;
}

void pack_sign_rows_avx2(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                         size_t dst_stride) {
  const size_t words = packed_words(cols), full = cols / kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= words);
  alignas(32) float tail[kBitsPerWord];
  for (size_t r = 0; r < rows; ++r) {
    const float* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) d[w] = pack64_avx2(s + w * kBitsPerWord);
    if (full < words) {
      const size_t n = cols - full * kBitsPerWord;
      std::memset(tail, 0, sizeof(tail));
      std::memcpy(tail, s + full * kBitsPerWord, n * sizeof(float));
      d[full] = pack64_avx2(tail);
    }
  }
}

void pack_nchw_to_nhwc_bits_avx2(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst) {
  const size_t words = packed_words(c), hw = h * w;
  const __m256 zero = _mm256_setzero_ps();
  alignas(32) uint8_t bytes[64];
  alignas(32) float tail[8];
  for (size_t b = 0; b < n; ++b) {
    const float* img = src + b * c * hw;
    bword* out = dst + b * hw * words;
    for (size_t cw = 0; cw < words; ++cw) {
      const size_t c0 = cw * kBitsPerWord, cn = c - c0 < kBitsPerWord ? c - c0 : kBitsPerWord;
      for (size_t p0 = 0; p0 < hw; p0 += 8) {
        const size_t pn = hw - p0 < 8 ? hw - p0 : 8;
        std::memset(bytes, 0, sizeof(bytes));
        for (size_t ch = 0; ch < cn; ++ch) {
          const float* p = img + (c0 + ch) * hw + p0;
          __m256 x;
          if (pn == 8) {
            x = _mm256_loadu_ps(p);
          } else {
            std::memset(tail, 0, sizeof(tail));
            std::memcpy(tail, p, pn * sizeof(float));
            x = _mm256_load_ps(tail);
          }
          bytes[ch] = static_cast<uint8_t>(_mm256_movemask_ps(_mm256_cmp_ps(x, zero, _CMP_LT_OQ)));
        }
        const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
        const __m256i v1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes + 32));
        for (size_t j = 0; j < pn; ++j) {
          const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(7 - j));
          // 16-bit shifts move bits across byte boundaries, but movemask only reads each byte's top bit, which
          // after a left shift by 7 − j is that byte's own bit j.
          const bword lo = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_sll_epi16(v0, shift)));
          const bword hi = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_sll_epi16(v1, shift)));
          out[(p0 + j) * words + cw] = lo | (hi << 32);
        }
      }
    }
  }
}

void unpack_sign_rows_avx2(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                           size_t dst_stride) {
  LOWBIT_KASSERT(src_stride >= packed_words(cols) && dst_stride >= cols);
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256 plus = _mm256_set1_ps(1.0f), minus = _mm256_set1_ps(-1.0f);
  alignas(32) float tail[8];
  for (size_t r = 0; r < rows; ++r) {
    const bword* s = src + r * src_stride;
    float* d = dst + r * dst_stride;
    for (size_t k = 0; k < cols; k += 8) {
      const int byte = static_cast<int>((s[k / kBitsPerWord] >> (k % kBitsPerWord)) & 0xFF);
      const __m256i set = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(byte), lane_bit), lane_bit);
      const __m256 v = _mm256_blendv_ps(plus, minus, _mm256_castsi256_ps(set));
      const size_t n = cols - k;
      if (n >= 8) {
        _mm256_storeu_ps(d + k, v);
      } else {
        _mm256_store_ps(tail, v);
        std::memcpy(d + k, tail, n * sizeof(float));
      }
    }
  }
}

// 64 sign bytes → one word: vpmovmskb collects the top bit of each byte, i.e. (byte < 0).
inline bword sign_bytes64_avx2(const int8_t* p) {
  const unsigned lo = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
  const unsigned hi =
      static_cast<unsigned>(_mm256_movemask_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32))));
  return static_cast<bword>(lo) | (static_cast<bword>(hi) << 32);
}

void pack_sign_bytes_avx2(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                          size_t dst_stride) {
  const size_t full = cols / kBitsPerWord, rest = cols % kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= packed_words(cols));
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) d[w] = sign_bytes64_avx2(s + w * kBitsPerWord);
    if (rest) {  // zero-filled copy of the tail: 0 is not negative, so the padding bits are 0
      alignas(32) int8_t tail[kBitsPerWord] = {};
      std::memcpy(tail, s + full * kBitsPerWord, rest);
      d[full] = sign_bytes64_avx2(tail);
    }
  }
}

}  // namespace

extern const PackBitsKernels kPackBitsAvx2;
const PackBitsKernels kPackBitsAvx2 = {pack_sign_rows_avx2, pack_nchw_to_nhwc_bits_avx2, unpack_sign_rows_avx2,
                                       pack_sign_bytes_avx2};

}  // namespace lowbit::kernels
