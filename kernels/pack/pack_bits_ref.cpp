// Reference sign packing (scalar, obviously right). Element k of a row goes to bit k % 64 of word k / 64 and is 1
// exactly when x < 0 (kernels/packing.h: sign_bit). Words are assembled in a register and stored once, so bits
// past the row length are 0 whatever the destination held before. Sign bytes: bit = (int8 byte < 0), same layout.
#include "kernels/kassert.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

void pack_sign_rows_ref(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                        size_t dst_stride) {
  const size_t words = packed_words(cols);
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= words);
  for (size_t r = 0; r < rows; ++r) {
    const float* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < words; ++w) {
      bword word = 0;
      const size_t end = (w + 1) * kBitsPerWord < cols ? (w + 1) * kBitsPerWord : cols;
      for (size_t k = w * kBitsPerWord; k < end; ++k) word |= sign_bit(s[k]) << (k % kBitsPerWord);
      d[w] = word;
    }
  }
}

void pack_nchw_to_nhwc_bits_ref(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst) {
  const size_t words = packed_words(c), hw = h * w;
  for (size_t b = 0; b < n; ++b)
    for (size_t p = 0; p < hw; ++p) {
      bword* d = dst + (b * hw + p) * words;
      for (size_t i = 0; i < words; ++i) d[i] = 0;
      for (size_t ch = 0; ch < c; ++ch)
        d[ch / kBitsPerWord] |= sign_bit(src[(b * c + ch) * hw + p]) << (ch % kBitsPerWord);
    }
}

void unpack_sign_rows_ref(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                          size_t dst_stride) {
  LOWBIT_KASSERT(src_stride >= packed_words(cols) && dst_stride >= cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < cols; ++k) {
      const bword bit = (src[r * src_stride + k / kBitsPerWord] >> (k % kBitsPerWord)) & 1u;
      dst[r * dst_stride + k] = bit ? -1.0f : 1.0f;
    }
}

void pack_sign_bytes_ref(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                         size_t dst_stride) {
  const size_t words = packed_words(cols);
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= words);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < words; ++w) {
      bword word = 0;
      const size_t end = (w + 1) * kBitsPerWord < cols ? (w + 1) * kBitsPerWord : cols;
      for (size_t k = w * kBitsPerWord; k < end; ++k) word |= static_cast<bword>(s[k] < 0) << (k % kBitsPerWord);
      d[w] = word;
    }
  }
}

const PackBitsKernels kPackBitsRef = {pack_sign_rows_ref, pack_nchw_to_nhwc_bits_ref, unpack_sign_rows_ref,
                                      pack_sign_bytes_ref};

}  // namespace lowbit::kernels
