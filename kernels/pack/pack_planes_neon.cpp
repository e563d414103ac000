// AArch64 NEON ternary and bit-plane packing (kernels/pack/pack_planes.h), bit-identical to pack_planes_ref.cpp.
//
// One 64-bit word of a plane is 64 consecutive source bytes, loaded as four 16-byte vectors. Each plane bit is a
// per-byte predicate turned into bits with neon::movemask64 (kernels/neon_util.h):
//   ternary  mask bit = (v ≠ 0)  = vtstq_s8(v, v);   sign bit = (v < 0) = vcltzq_s8(v)   (so sign ⊆ mask)
//   codes    plane i bit = (c & 2^i) ≠ 0 = vtstq_u8(c, 2^i)
// Value checks without branches in the loop: v ∈ {−1, 0, 1} ⇔ (uint8)(v + 1) ≤ 2 and c < 2^bits ⇔ c ≤ 2^bits − 1,
// so a running byte-wise maximum per row is compared once at its end.
// The tail word (K mod 64 elements) is copied into a zeroed 64-byte block first: zero bytes are valid values and
// give zero bits, so the padding bits k ≥ K come out 0 and source bytes past K are never read.
#include <arm_neon.h>

#include <cstring>

#include "kernels/neon_util.h"
#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {

namespace {

struct Block64 {
  int8x16_t v[4];
};

inline Block64 load_block(const int8_t* s, size_t n) {
  Block64 b;
  if (n == kBitsPerWord) {
    for (int q = 0; q < 4; ++q) b.v[q] = vld1q_s8(s + 16 * q);
  } else {
    alignas(16) int8_t tmp[kBitsPerWord] = {};
    std::memcpy(tmp, s, n);
    for (int q = 0; q < 4; ++q) b.v[q] = vld1q_s8(tmp + 16 * q);
  }
  return b;
}

}  // namespace

bool pack_ternary_planes_neon(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                              size_t ldd) {
  const size_t words = packed_words(k);
  const int8x16_t one = vdupq_n_s8(1);
  uint8x16_t worst = vdupq_n_u8(0);  // max over all bytes of (uint8)(v + 1); valid ⇔ ≤ 2
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    for (size_t w = 0; w < words; ++w) {
      const size_t n = (w + 1) * kBitsPerWord <= k ? kBitsPerWord : k - w * kBitsPerWord;
      const Block64 b = load_block(s + w * kBitsPerWord, n);
      uint8x16_t nz[4], neg[4];
      for (int q = 0; q < 4; ++q) {
        nz[q] = vtstq_s8(b.v[q], b.v[q]);
        neg[q] = vcltzq_s8(b.v[q]);
        worst = vmaxq_u8(worst, vreinterpretq_u8_s8(vaddq_s8(b.v[q], one)));
      }
      mask[r * ldd + w] = neon::movemask64(nz[0], nz[1], nz[2], nz[3]);
      sign[r * ldd + w] = neon::movemask64(neg[0], neg[1], neg[2], neg[3]);
    }
  }
  return vmaxvq_u8(worst) <= 2;
}

bool pack_bit_planes_neon(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst,
                          size_t ldd) {
  const size_t words = packed_words(k);
  uint8x16_t worst = vdupq_n_u8(0);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = reinterpret_cast<const int8_t*>(src + r * lds);
    for (size_t w = 0; w < words; ++w) {
      const size_t n = (w + 1) * kBitsPerWord <= k ? kBitsPerWord : k - w * kBitsPerWord;
      const Block64 b = load_block(s + w * kBitsPerWord, n);
      uint8x16_t c[4];
      for (int q = 0; q < 4; ++q) {
        c[q] = vreinterpretq_u8_s8(b.v[q]);
        worst = vmaxq_u8(worst, c[q]);
      }
      for (int i = 0; i < bits; ++i) {
        const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(1u << i));
        dst[r * ldd + size_t(i) * words + w] =
            neon::movemask64(vtstq_u8(c[0], bit), vtstq_u8(c[1], bit), vtstq_u8(c[2], bit), vtstq_u8(c[3], bit));
      }
    }
  }
  return unsigned(vmaxvq_u8(worst)) < (1u << bits);
}

extern const PackPlanesKernels kPackPlanesNeon = {pack_ternary_planes_neon, pack_bit_planes_neon};

}  // namespace lowbit::kernels
