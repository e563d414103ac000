// AArch64 NEON sign packing (kernels/pack/pack_bits.h), bit-identical to pack_bits_ref.cpp.
//
// Bit = (x < 0) exactly as sign_bit(): vcltzq_f32 is an ordered compare, so −0.0 and NaN give 0 (+1) like the
// scalar `x < 0.0f`; testing the IEEE sign bit instead would get both wrong.
//
// sign_rows: a 64-float word = 16 float32x4 compares (0xFFFFFFFF / 0). Narrowing twice (vuzp1q keeps the low
//   half of every lane, and an all-ones or all-zero lane has equal halves) turns each 16 floats into a 16-byte
//   mask, and neon::movemask64 folds four of those into the word. The last partial word goes through a 64-float
//   block zero-filled past the row end (0.0f packs to 0), so the padding bits are 0 and nothing past `cols` is
//   read.
// nchw_to_nhwc: channels of one pixel are hw floats apart, so we vectorise over pixels instead: two uint64x2
//   accumulators hold the words of 4 consecutive pixels. Per channel, the compare mask widened to 64-bit lanes is
//   shifted in from the top (vsriq_n_u64(mask, acc, 1) = mask's top bit | acc >> 1); after n channels channel j
//   sits at bit 64 − n + j, and one final right shift by 64 − n puts it at bit j with zeros above n, the tail
//   rule. Pixels left over (hw mod 4) use the scalar path.
// unpack_rows: for 4 elements, the word shifted to element k is broadcast and vtstq_u32 against {1,2,4,8} selects
//   −1.0f or +1.0f with vbslq_f32.
// sign_bytes: vcltzq_s8 gives the 0xFF / 0 byte mask of 16 int8 directly; four of them are one movemask64 word.
#include <arm_neon.h>

#include <cstring>

#include "kernels/kassert.h"
#include "kernels/neon_util.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

namespace {

// 16 floats → 16 byte masks (0xFF where x < 0).
inline uint8x16_t negative_bytes16(const float* s) {
  const uint32x4_t c0 = vcltzq_f32(vld1q_f32(s)), c1 = vcltzq_f32(vld1q_f32(s + 4));
  const uint32x4_t c2 = vcltzq_f32(vld1q_f32(s + 8)), c3 = vcltzq_f32(vld1q_f32(s + 12));
  const uint16x8_t h01 = vuzp1q_u16(vreinterpretq_u16_u32(c0), vreinterpretq_u16_u32(c1));
  const uint16x8_t h23 = vuzp1q_u16(vreinterpretq_u16_u32(c2), vreinterpretq_u16_u32(c3));
  return vuzp1q_u8(vreinterpretq_u8_u16(h01), vreinterpretq_u8_u16(h23));
}

inline bword sign_word64(const float* s) {
  return neon::movemask64(negative_bytes16(s), negative_bytes16(s + 16), negative_bytes16(s + 32),
                          negative_bytes16(s + 48));
}

}  // namespace

void pack_sign_rows_neon(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                         size_t dst_stride) {
  const size_t full = cols / kBitsPerWord, rest = cols % kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= packed_words(cols));
  for (size_t r = 0; r < rows; ++r) {
    const float* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) d[w] = sign_word64(s + w * kBitsPerWord);
    if (rest) {
      alignas(16) float tail[kBitsPerWord] = {};
      std::memcpy(tail, s + full * kBitsPerWord, rest * sizeof(float));
      d[full] = sign_word64(tail);
    }
  }
}

void pack_nchw_to_nhwc_bits_neon(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst) {
  const size_t words = packed_words(c), hw = h * w, hw4 = hw - hw % 4;
  for (size_t b = 0; b < n; ++b) {
    const float* img = src + b * c * hw;
    bword* out = dst + b * hw * words;
    for (size_t p = 0; p < hw4; p += 4) {
      for (size_t wi = 0; wi < words; ++wi) {
        const size_t c0 = wi * kBitsPerWord, nch = c - c0 < kBitsPerWord ? c - c0 : kBitsPerWord;
        uint64x2_t lo = vdupq_n_u64(0), hi = vdupq_n_u64(0);  // pixels p, p+1 | p+2, p+3
        for (size_t j = 0; j < nch; ++j) {
          const uint32x4_t m = vcltzq_f32(vld1q_f32(img + (c0 + j) * hw + p));
          const int32x4_t ms = vreinterpretq_s32_u32(m);
          lo = vsriq_n_u64(vreinterpretq_u64_s64(vmovl_s32(vget_low_s32(ms))), lo, 1);
          hi = vsriq_n_u64(vreinterpretq_u64_s64(vmovl_high_s32(ms)), hi, 1);
        }
        const int64x2_t down = vdupq_n_s64(-static_cast<int64_t>(kBitsPerWord - nch));
        lo = vshlq_u64(lo, down);
        hi = vshlq_u64(hi, down);
        out[(p + 0) * words + wi] = vgetq_lane_u64(lo, 0);
        out[(p + 1) * words + wi] = vgetq_lane_u64(lo, 1);
        out[(p + 2) * words + wi] = vgetq_lane_u64(hi, 0);
        out[(p + 3) * words + wi] = vgetq_lane_u64(hi, 1);
      }
    }
    for (size_t p = hw4; p < hw; ++p) {
      bword* d = out + p * words;
      for (size_t i = 0; i < words; ++i) d[i] = 0;
      for (size_t ch = 0; ch < c; ++ch) d[ch / kBitsPerWord] |= sign_bit(img[ch * hw + p]) << (ch % kBitsPerWord);
    }
  }
}

void unpack_sign_rows_neon(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                           size_t dst_stride) {
  LOWBIT_KASSERT(src_stride >= packed_words(cols) && dst_stride >= cols);
  const uint32x4_t lane_bits = {1, 2, 4, 8};
  const float32x4_t minus = vdupq_n_f32(-1.0f), plus = vdupq_n_f32(1.0f);
  const size_t cols4 = cols - cols % 4;
  for (size_t r = 0; r < rows; ++r) {
    const bword* s = src + r * src_stride;
    float* d = dst + r * dst_stride;
    for (size_t k = 0; k < cols4; k += 4) {
      const uint32_t nib = static_cast<uint32_t>(s[k / kBitsPerWord] >> (k % kBitsPerWord)) & 0xFu;
      vst1q_f32(d + k, vbslq_f32(vtstq_u32(vdupq_n_u32(nib), lane_bits), minus, plus));
    }
    for (size_t k = cols4; k < cols; ++k) d[k] = ((s[k / kBitsPerWord] >> (k % kBitsPerWord)) & 1u) ? -1.0f : 1.0f;
  }
}

void pack_sign_bytes_neon(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                          size_t dst_stride) {
  const size_t full = cols / kBitsPerWord, rest = cols % kBitsPerWord;
  LOWBIT_KASSERT(src_stride >= cols && dst_stride >= packed_words(cols));
  auto word64 = [](const int8_t* p) {
    return neon::movemask64(vcltzq_s8(vld1q_s8(p)), vcltzq_s8(vld1q_s8(p + 16)), vcltzq_s8(vld1q_s8(p + 32)),
                            vcltzq_s8(vld1q_s8(p + 48)));
  };
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * src_stride;
    bword* d = dst + r * dst_stride;
    for (size_t w = 0; w < full; ++w) d[w] = word64(s + w * kBitsPerWord);
    if (rest) {  // zero-filled copy of the tail: 0 is not negative, so the padding bits are 0
      alignas(16) int8_t tail[kBitsPerWord] = {};
      std::memcpy(tail, s + full * kBitsPerWord, rest);
      d[full] = word64(tail);
    }
  }
}

extern const PackBitsKernels kPackBitsNeon = {pack_sign_rows_neon, pack_nchw_to_nhwc_bits_neon,
                                              unpack_sign_rows_neon, pack_sign_bytes_neon};

}  // namespace lowbit::kernels
