// Sub-byte integer packing (kernels/packing.h, binding): int4 two per byte (element 2j in the low nibble of byte
// j, two's complement, range [−8, 7]); int2 four per byte (element 4j+t in bits [2t, 2t+1] of byte j, two's
// complement, range [−2, 1]; ternary {−1, 0, +1} uses the same encoding). An incomplete last byte of a row has
// its unused high fields written as 0.
//
// Rows: `rows` rows of `k` values, source row stride `lds` elements, destination row stride `ldd` bytes
// (≥ packed_bytes_i4(k) / packed_bytes_i2(k)). Validating entry points return Status (out_of_range when a value
// does not fit; destination then unspecified, never written outside rows×ldd).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

using pack_nibbles_fn = bool (*)(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd);

struct PackNibblesKernels {
  pack_nibbles_fn i4;  // false if a value ∉ [−8, 7]
  pack_nibbles_fn i2;  // false if a value ∉ [−2, 1]
};

const PackNibblesKernels& pack_nibbles_kernels();
const PackNibblesKernels* pack_nibbles_kernels_for(Isa isa);

Status pack_i4(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd);
Status pack_i2(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd);

// Inverses (scalar; sign-extend each field).
void unpack_i4(const uint8_t* src, size_t rows, size_t k, size_t lds, int8_t* dst, size_t ldd);
void unpack_i2(const uint8_t* src, size_t rows, size_t k, size_t lds, int8_t* dst, size_t ldd);

// Single-value accessors shared by reference kernels and tests.
inline int get_i4(const uint8_t* row, size_t i) {
  const int v = (row[i / 2] >> ((i & 1) * 4)) & 0xF;
  return v >= 8 ? v - 16 : v;
}
inline int get_i2(const uint8_t* row, size_t i) {
  const int v = (row[i / 4] >> ((i & 3) * 2)) & 0x3;
  return v >= 2 ? v - 4 : v;
}

bool pack_i4_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd);
bool pack_i2_ref(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd);

}  // namespace lowbit::kernels
