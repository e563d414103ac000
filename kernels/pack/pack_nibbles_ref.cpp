// Scalar reference for int4 / int2 packing (kernels/pack/pack_nibbles.h): a field holds the value's low 4 (2)
// bits, i.e. its two's-complement encoding; unpacking sign-extends from bit 3 (bit 1).
#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {

namespace {

// Packs 8/BITS fields per byte, low field first (the last byte's unused fields are 0). False if a value is
// outside [−2^(BITS−1), 2^(BITS−1) − 1]; every value is still written (as its low BITS bits).
template <int BITS>
bool pack_fields(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  constexpr size_t kPerByte = 8 / BITS;
  constexpr int kLo = -(1 << (BITS - 1)), kHi = (1 << (BITS - 1)) - 1;
  constexpr unsigned kMask = (1u << BITS) - 1;
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    uint8_t* d = dst + r * ldd;
    for (size_t j = 0; j < (k + kPerByte - 1) / kPerByte; ++j) {
      unsigned byte = 0;
      for (size_t t = 0; t < kPerByte && kPerByte * j + t < k; ++t) {
        const int v = s[kPerByte * j + t];
        ok &= v >= kLo && v <= kHi;
        byte |= (unsigned(v) & kMask) << (BITS * t);
      }
      d[j] = static_cast<uint8_t>(byte);
    }
  }
  return ok;
}

}  // namespace

bool pack_i4_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  return pack_fields<4>(src, rows, k, lds, dst, ldd);
}

bool pack_i2_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  return pack_fields<2>(src, rows, k, lds, dst, ldd);
}

void unpack_i4(const uint8_t* src, size_t rows, size_t k, size_t lds, int8_t* dst, size_t ldd) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k; ++i) dst[r * ldd + i] = static_cast<int8_t>(get_i4(src + r * lds, i));
}

void unpack_i2(const uint8_t* src, size_t rows, size_t k, size_t lds, int8_t* dst, size_t ldd) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k; ++i) dst[r * ldd + i] = static_cast<int8_t>(get_i2(src + r * lds, i));
}

extern const PackNibblesKernels kPackNibblesRef = {pack_i4_ref, pack_i2_ref};

}  // namespace lowbit::kernels
