// AArch64 NEON int4 / int2 packing (kernels/pack/pack_nibbles.h), bit-identical to pack_nibbles_ref.cpp.
//
// A field is the value's low 4 (2) bits, i.e. its two's-complement encoding. The structure loads de-interleave
// for us: vld2q_s8 on 32 values gives the even elements (low nibbles) and the odd ones (high nibbles) of 16
// output bytes, vld4q_s8 on 64 values gives the four 2-bit fields t = 0..3 of 16 output bytes. Fields are merged
// with shift-left-and-insert, vsliq_n_u8(lo, hi, s) = (hi << s) | (lo & (2^s − 1)):
//   i4  byte = vsli(e & 0xF, o, 4)                                   (o's bits above 4 shift out)
//   i2  byte = vsli(f0 & 3, vsli(f1 & 3, vsli(f2 & 3, f3, 2), 2), 2)  (f3's bits above 2 shift out)
// Range checks without branches in the loop: v ∈ [−8, 7] ⇔ (uint8)(v + 8) ≤ 15, v ∈ [−2, 1] ⇔ (uint8)(v + 2) ≤ 3;
// a running byte maximum is compared once at the end. The last partial group (k mod 32, k mod 64 values) is
// copied into a zeroed block first, so missing elements pack as 0 fields (the reference's rule for the unused
// high fields of the last byte), nothing past k is read, and only packed_bytes(k) bytes of a row are written.
#include <arm_neon.h>

#include <cstring>

#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {

namespace {

inline uint8x16_t pack16_i4(const int8_t* s, uint8x16_t& worst) {
  const int8x16x2_t v = vld2q_s8(s);
  const uint8x16_t e = vreinterpretq_u8_s8(v.val[0]), o = vreinterpretq_u8_s8(v.val[1]);
  const uint8x16_t eight = vdupq_n_u8(8);
  worst = vmaxq_u8(worst, vmaxq_u8(vaddq_u8(e, eight), vaddq_u8(o, eight)));
  return vsliq_n_u8(vandq_u8(e, vdupq_n_u8(0xF)), o, 4);
}

inline uint8x16_t pack16_i2(const int8_t* s, uint8x16_t& worst) {
  const int8x16x4_t v = vld4q_s8(s);
  const uint8x16_t two = vdupq_n_u8(2), three = vdupq_n_u8(3);
  uint8x16_t f[4];
  for (int t = 0; t < 4; ++t) {
    f[t] = vreinterpretq_u8_s8(v.val[t]);
    worst = vmaxq_u8(worst, vaddq_u8(f[t], two));
  }
  const uint8x16_t f23 = vsliq_n_u8(vandq_u8(f[2], three), f[3], 2);
  const uint8x16_t f123 = vsliq_n_u8(vandq_u8(f[1], three), f23, 2);
  return vsliq_n_u8(vandq_u8(f[0], three), f123, 2);
}

// One row: full groups of `per` values → 16 bytes each, then the tail through a zeroed block.
template <size_t kPer, uint8x16_t (*Pack16)(const int8_t*, uint8x16_t&)>
inline void pack_row(const int8_t* s, size_t k, uint8_t* d, size_t out_bytes, uint8x16_t& worst) {
  const size_t full = k / kPer;
  for (size_t g = 0; g < full; ++g) vst1q_u8(d + 16 * g, Pack16(s + kPer * g, worst));
  if (full * kPer < k) {
    alignas(16) int8_t block[kPer] = {};
    std::memcpy(block, s + full * kPer, k - full * kPer);
    alignas(16) uint8_t packed[16];
    vst1q_u8(packed, Pack16(block, worst));
    std::memcpy(d + 16 * full, packed, out_bytes - 16 * full);
  }
}

}  // namespace

bool pack_i4_neon(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  uint8x16_t worst = vdupq_n_u8(0);  // max of (uint8)(v + 8); valid ⇔ ≤ 15
  for (size_t r = 0; r < rows; ++r) pack_row<32, pack16_i4>(src + r * lds, k, dst + r * ldd, packed_bytes_i4(k), worst);
  return vmaxvq_u8(worst) <= 15;
}

bool pack_i2_neon(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  uint8x16_t worst = vdupq_n_u8(0);  // max of (uint8)(v + 2); valid ⇔ ≤ 3
  for (size_t r = 0; r < rows; ++r) pack_row<64, pack16_i2>(src + r * lds, k, dst + r * ldd, packed_bytes_i2(k), worst);
  return vmaxvq_u8(worst) <= 3;
}

extern const PackNibblesKernels kPackNibblesNeon = {pack_i4_neon, pack_i2_neon};

}  // namespace lowbit::kernels
