// Scalar reference for int4 / int2 packing (kernels/pack/pack_nibbles.h): a field holds the value's low 4 (2)
// bits, i.e. its two's-complement encoding; unpacking sign-extends from bit 3 (bit 1).
#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {

bool pack_i4_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    uint8_t* d = dst + r * ldd;
    for (size_t j = 0; j < packed_bytes_i4(k); ++j) {
      unsigned byte = 0;
      for (size_t t = 0; t < 2 && 2 * j + t < k; ++t) {
        const int v = s[2 * j + t];
        ok &= v >= -8 && v <= 7;
        byte |= (unsigned(v) & 0xFu) << (4 * t);
      }
      d[j] = static_cast<uint8_t>(byte);
    }
  }
  return ok;
}

bool pack_i2_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  bool ok = true;
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* s = src + r * lds;
    uint8_t* d = dst + r * ldd;
    for (size_t j = 0; j < packed_bytes_i2(k); ++j) {
      unsigned byte = 0;
      for (size_t t = 0; t < 4 && 4 * j + t < k; ++t) {
        const int v = s[4 * j + t];
        ok &= v >= -2 && v <= 1;
        byte |= (unsigned(v) & 0x3u) << (2 * t);
      }
      d[j] = static_cast<uint8_t>(byte);
    }
  }
  return ok;
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
