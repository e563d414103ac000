// Scalar reference for ternary and bit-plane packing (kernels/pack/pack_planes.h).
//
// Element k of a row goes to bit k % 64 of word k / 64 of each plane; a ternary value v sets mask = (v ≠ 0) and
// sign = (v < 0), so sign ⊆ mask; a code c sets bit i of plane i to (c >> i) & 1. Whole words are assembled in a
// register and stored once, which also writes the tail bits (k ≥ K) as zero whatever the destination held.
#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {

bool pack_ternary_planes_ref(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                             size_t ldd) {
  const size_t words = packed_words(k);
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    for (size_t w = 0; w < words; ++w) {
      bword m = 0, g = 0;
      const size_t end = (w + 1) * kBitsPerWord < k ? (w + 1) * kBitsPerWord : k;
      for (size_t i = w * kBitsPerWord; i < end; ++i) {
        const int v = s[i];
        ok &= (v >= -1 && v <= 1);
        m |= bword(v != 0) << (i % kBitsPerWord);
        g |= bword(v < 0) << (i % kBitsPerWord);
      }
      mask[r * ldd + w] = m;
      sign[r * ldd + w] = g;
    }
  }
  return ok;
}

bool pack_bit_planes_ref(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst, size_t ldd) {
  const size_t words = packed_words(k);
  const unsigned limit = 1u << bits;
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lds;
    for (size_t i = 0; i < k; ++i) ok &= s[i] < limit;
    for (int b = 0; b < bits; ++b) {
      bword* plane = dst + r * ldd + size_t(b) * words;
      for (size_t w = 0; w < words; ++w) {
        bword v = 0;
        const size_t end = (w + 1) * kBitsPerWord < k ? (w + 1) * kBitsPerWord : k;
        for (size_t i = w * kBitsPerWord; i < end; ++i) v |= bword((s[i] >> b) & 1u) << (i % kBitsPerWord);
        plane[w] = v;
      }
    }
  }
  return ok;
}

void unpack_ternary_planes(const bword* mask, const bword* sign, size_t rows, size_t k, size_t ldm, int8_t* dst,
                           size_t ldd) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k; ++i) {
      const bword bit = bword{1} << (i % kBitsPerWord);
      const bool nz = (mask[r * ldm + i / kBitsPerWord] & bit) != 0;
      const bool neg = (sign[r * ldm + i / kBitsPerWord] & bit) != 0;
      dst[r * ldd + i] = static_cast<int8_t>(nz ? (neg ? -1 : 1) : 0);
    }
}

void unpack_bit_planes(const bword* src, size_t rows, size_t k, size_t lds, int bits, uint8_t* dst, size_t ldd) {
  const size_t words = packed_words(k);
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k; ++i) {
      unsigned c = 0;
      for (int b = 0; b < bits; ++b)
        c |= unsigned((src[r * lds + size_t(b) * words + i / kBitsPerWord] >> (i % kBitsPerWord)) & 1u) << b;
      dst[r * ldd + i] = static_cast<uint8_t>(c);
    }
}

void bit_plane_code_sums(const bword* src, size_t rows, size_t k, size_t lds, int bits, int32_t* out) {
  const size_t words = packed_words(k);
  for (size_t r = 0; r < rows; ++r) {
    int64_t s = 0;
    for (int b = 0; b < bits; ++b)
      for (size_t w = 0; w < words; ++w)
        s += int64_t(__builtin_popcountll(src[r * lds + size_t(b) * words + w])) << b;
    out[r] = static_cast<int32_t>(s);
  }
}

void plane_popcounts(const bword* src, size_t rows, size_t k, size_t lds, int32_t* out) {
  const size_t words = packed_words(k);
  for (size_t r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (size_t w = 0; w < words; ++w) s += __builtin_popcountll(src[r * lds + w]);
    out[r] = s;
  }
}

extern const PackPlanesKernels kPackPlanesRef = {pack_ternary_planes_ref, pack_bit_planes_ref};

}  // namespace lowbit::kernels
