// The three places where the fvec xsimd variants (kernels/fvec/fvec_simd.h) need per-architecture code, because
// xsimd 8.1 falls short there. Everything else stays xsimd.
//
// Window<A>: gradient-window bytes ↔ one float batch's mask. xsimd 8's batch_bool load/store from bool* go
// through a scalar loop per lane (~40 scalar instructions per AVX-512 mask in the generated code), and it has no
// narrowing or widening integer conversions to build them from; here they are a few intrinsics each.
//
// store_codes<A>: a batch of integer-valued floats (|c| < 2^15) → int16. xsimd 8 has no narrowing conversion;
// through a float buffer and a scalar loop the quantizer loops ran 5-25 % slower than GCC's auto-vectorised
// plain loop on AVX-512 (the vector store followed by narrow reloads stalls store forwarding).
//
// div<A>: IEEE division. On NEON xsimd 8.1 divides floats by a reciprocal estimate and two Newton steps (it has
// no neon64 override with vdivq_f32): not correctly rounded, so codes of round(x/s) came out one off the scalar
// reference under qemu. The aarch64 variant uses vdivq_f32; x86 divides exactly through xsimd already.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <xsimd/xsimd.hpp>

namespace lowbit::kernels::fvec_simd {
namespace {  // internal linkage: each ISA file keeps its own copies (kernels/README.md)


template <class A>
struct Window;

#if XSIMD_WITH_AVX512BW
template <>
struct Window<xsimd::avx512f> {
  using M = xsimd::batch_bool<float, xsimd::avx512f>;
  static void store(const M& m, uint8_t* w) {  // 16 bytes: 1 where the lane is set
    _mm_storeu_si128(reinterpret_cast<__m128i*>(w), _mm_maskz_set1_epi8(static_cast<__mmask16>(m), 1));
  }
  static M load(const uint8_t* w) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
    return M(_mm_test_epi8_mask(v, v));
  }
};
#endif

#if XSIMD_WITH_AVX2
template <>
struct Window<xsimd::avx2> {
  using M = xsimd::batch_bool<float, xsimd::avx2>;
  static void store(const M& m, uint8_t* w) {  // 8 bytes: lanes are all-ones or zero, narrowed by saturation
    const __m256i v = _mm256_castps_si256(static_cast<__m256>(m));
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i b = _mm_and_si128(_mm_packs_epi16(h, h), _mm_set1_epi8(1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(w), b);
  }
  static M load(const uint8_t* w) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w)));
    return M(_mm256_castsi256_ps(_mm256_cmpgt_epi32(v, _mm256_setzero_si256())));
  }
};
#endif

#if XSIMD_WITH_NEON64
template <>
struct Window<xsimd::neon64> {
  using M = xsimd::batch_bool<float, xsimd::neon64>;
  static void store(const M& m, uint8_t* w) {  // 4 bytes
    const uint16x4_t h = vmovn_u32(static_cast<uint32x4_t>(m));
    const uint8x8_t b = vand_u8(vmovn_u16(vcombine_u16(h, h)), vdup_n_u8(1));
    const uint32_t word = vget_lane_u32(vreinterpret_u32_u8(b), 0);
    std::memcpy(w, &word, 4);
  }
  static M load(const uint8_t* w) {
    uint32_t word;
    std::memcpy(&word, w, 4);
    const uint8x8_t b = vreinterpret_u8_u32(vdup_n_u32(word));
    const uint32x4_t v = vmovl_u16(vget_low_u16(vmovl_u8(b)));
    return M(vtstq_u32(v, v));
  }
};
#endif

template <class A>
void store_codes(const xsimd::batch<float, A>& c, int16_t* dst) {
  alignas(64) float buf[xsimd::batch<float, A>::size];
  c.store_aligned(buf);
  for (size_t l = 0; l < xsimd::batch<float, A>::size; ++l) dst[l] = static_cast<int16_t>(buf[l]);
}
#if XSIMD_WITH_AVX512BW
template <>
inline void store_codes(const xsimd::batch<float, xsimd::avx512f>& c, int16_t* dst) {
  // The maskz forms: GCC 12 warns about the undefined source operand of the unmasked ones.
  _mm512_mask_cvtepi32_storeu_epi16(dst, 0xFFFF, _mm512_maskz_cvttps_epi32(0xFFFF, c));
}
#endif
#if XSIMD_WITH_AVX2
template <>
inline void store_codes(const xsimd::batch<float, xsimd::avx2>& c, int16_t* dst) {
  const __m256i v = _mm256_cvttps_epi32(c);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}
#endif
#if XSIMD_WITH_NEON64
template <>
inline void store_codes(const xsimd::batch<float, xsimd::neon64>& c, int16_t* dst) {
  vst1_s16(dst, vmovn_s32(vcvtq_s32_f32(c)));
}
#endif

template <class A>
xsimd::batch<float, A> div(const xsimd::batch<float, A>& a, const xsimd::batch<float, A>& b) {
  return a / b;
}
#if XSIMD_WITH_NEON64
template <>
inline xsimd::batch<float, xsimd::neon64> div(const xsimd::batch<float, xsimd::neon64>& a,
                                             const xsimd::batch<float, xsimd::neon64>& b) {
  return xsimd::batch<float, xsimd::neon64>(vdivq_f32(a, b));
}
#endif

}  // namespace
}  // namespace lowbit::kernels::fvec_simd
