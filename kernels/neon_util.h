// Small AArch64 Advanced SIMD helpers shared by the *_neon.cpp kernel files (include only from those: they are
// compiled for aarch64 only, see cmake/LowbitHelpers.cmake).
//
// movemask64: NEON has no pmovmskb. A byte mask m (0xFF / 0x00 per byte) becomes bits by AND-ing byte i with
//   2^(i mod 8) and then adding neighbours with vpaddq_u8 three times: after the first add each byte holds two
//   weighted inputs, after the second four, after the third eight, i.e. one whole output byte (the weights are
//   distinct powers of two, so the sums never carry). Byte j of the result collects inputs 8j..8j+7, so bit i of
//   the little-endian word is input byte i, as kernels/packing.h wants (element k -> bit k % 64).
// popcount: vcntq_u8 counts bits per byte (0..8); vpadalq_u8 adds neighbouring byte counts into uint16 lanes,
//   vpadalq_u16 / vpadalq_u32 widen further. A uint16 lane gains at most 16 per vpadalq_u8, so a uint16
//   accumulator is safe for 4095 steps; kernels flush to 32 bits every kU16Steps steps.
#pragma once
#if !defined(__aarch64__)
#error "kernels/neon_util.h is for aarch64 *_neon.cpp files only"
#endif
#include <arm_neon.h>

#include <cstdint>

namespace lowbit::kernels::neon {

inline constexpr int kU16Steps = 4095;  // vpadalq_u8 steps a uint16 popcount accumulator can take

// Bits of 64 bytes given as four 0xFF/0x00 byte masks (bytes 0-15, 16-31, 32-47, 48-63).
inline uint64_t movemask64(uint8x16_t m0, uint8x16_t m1, uint8x16_t m2, uint8x16_t m3) {
  const uint8x16_t w = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t s01 = vpaddq_u8(vandq_u8(m0, w), vandq_u8(m1, w));
  const uint8x16_t s23 = vpaddq_u8(vandq_u8(m2, w), vandq_u8(m3, w));
  const uint8x16_t s = vpaddq_u8(s01, s23);
  return vgetq_lane_u64(vreinterpretq_u64_u8(vpaddq_u8(s, s)), 0);
}

// Popcount of two 64-bit words as one 128-bit vector, added pairwise into a uint16x8 accumulator.
inline uint16x8_t popcount_acc_u16(uint16x8_t acc, uint64x2_t v) {
  return vpadalq_u8(acc, vcntq_u8(vreinterpretq_u8_u64(v)));
}

// Sum of all lanes of a uint16 accumulator (exact up to its 8·65535 range).
inline uint32_t hsum_u16(uint16x8_t acc) { return vaddlvq_u16(acc); }

}  // namespace lowbit::kernels::neon
