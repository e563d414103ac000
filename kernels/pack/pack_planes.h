// Bit-plane packing for the ternary (tgemm) and bit-serial (bitserial) kernel families.
//
// Formats (kernels/packing.h is binding):
//   ternary t2   int8 values in {−1, 0, +1}  →  two b1-shaped planes per row: mask (bit 1 = nonzero) and
//                sign (bit 1 = −1), canonical (sign ⊆ mask), tail bits ≥ K zero in both planes.
//   k-bit codes  uint8 codes in [0, 2^bits − 1] →  `bits` consecutive planes per row (plane i = bit i, LSB
//                first), each packed_words(K) words, tails zero. A packed row therefore occupies
//                bits·packed_words(K) words; the row stride (in words) must be at least that.
//
// The public entry points validate their arguments and every value: a null pointer, K = 0 with rows > 0, a
// stride smaller than a row, bits outside 1..8 or a value that does not fit the format returns a Status
// (out_of_range for a bad value; the destination contents are then unspecified but nothing is written outside
// the rows×stride area). The table functions underneath are the vectorised cores: they check values (returning
// false on a bad one) but not sizes.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

// rows×k int8 (row stride lds elements) → mask/sign planes (row stride ldd words). False if a value ∉ {−1,0,1}.
using pack_ternary_planes_fn = bool (*)(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask,
                                        bword* sign, size_t ldd);
// rows×k uint8 codes (row stride lds) → `bits` planes per row (row stride ldd words). False if a code ≥ 2^bits.
using pack_bit_planes_fn = bool (*)(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst,
                                    size_t ldd);

struct PackPlanesKernels {
  pack_ternary_planes_fn ternary;
  pack_bit_planes_fn bit_planes;
};

const PackPlanesKernels& pack_planes_kernels();
const PackPlanesKernels* pack_planes_kernels_for(Isa isa);

// Validating entry points (dispatch through pack_planes_kernels()).
Status pack_ternary_planes(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                           size_t ldd);
Status pack_bit_planes(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst, size_t ldd);

// Inverses (scalar; for tests and debugging). No validation beyond what the signature implies.
void unpack_ternary_planes(const bword* mask, const bword* sign, size_t rows, size_t k, size_t ldm, int8_t* dst,
                           size_t ldd);
void unpack_bit_planes(const bword* src, size_t rows, size_t k, size_t lds, int bits, uint8_t* dst, size_t ldd);

// Σ over a packed row of 2^i·popcount(plane i), i.e. the sum of the codes (used by bitserial's offsets), and
// popcount of a single plane (the per-row nonzero count tgemm needs). `out` gets one value per row.
void bit_plane_code_sums(const bword* src, size_t rows, size_t k, size_t lds, int bits, int32_t* out);
void plane_popcounts(const bword* src, size_t rows, size_t k, size_t lds, int32_t* out);

// Reference cores (always compiled; the tables of other ISAs must match them bit for bit).
bool pack_ternary_planes_ref(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                             size_t ldd);
bool pack_bit_planes_ref(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst, size_t ldd);

}  // namespace lowbit::kernels
