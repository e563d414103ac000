// Binary (sign) packing: fp32 → b1 bits and back, in the convention of kernels/packing.h
// (64 values per bword, element k = bit k%64 of word k/64, bit 1 = −1, x < 0 ⇔ bit 1 so sign(0) = sign(NaN) = +1,
// bits past the row length are written 0).
//
// Two shapes:
//   * rows:  `rows` rows of `cols` floats (row r at src + r·src_stride) → rows of packed_words(cols) words
//            (row r at dst + r·dst_stride). Used for weights [M][K], NHWC activations ([N·H·W][C]), GEMM operands.
//   * NCHW → channel-packed NHWC: fp32 [N][C][H][W] → bits [N][H][W][packed_words(C)] (pixel stride =
//            packed_words(C) words). This is the bconv2d input layout; it is also what a bconv2d `bits` output
//            already is, so binary layers chain without unpacking.
// Sign bytes: int8 rows (±1 codes, or any int8: bit 1 exactly when the byte is negative) → rows of bits, the same
// row layout as the fp32 rows; the integer layers pack their ±1 weight and activation codes with it.
// Unpack (bits → ±1.0f) exists for tests and debugging.
//
// Kernels (table entries) assert their preconditions; the validating entry points below check sizes, strides and
// the destination capacity and return Status instead of writing out of bounds.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

// rows × cols floats (src_stride ≥ cols) → rows × packed_words(cols) words (dst_stride ≥ packed_words(cols)).
using pack_sign_rows_fn = void (*)(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                                   size_t dst_stride);
// fp32 NCHW [n][c][h][w] (dense) → bits [n][h][w][packed_words(c)] (dense).
using pack_nchw_to_nhwc_bits_fn = void (*)(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst);
// rows × cols int8 (src_stride ≥ cols bytes) → rows × packed_words(cols) words, bit = (byte < 0).
using pack_sign_bytes_fn = void (*)(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                                    size_t dst_stride);
// rows × packed_words(cols) words → rows × cols floats, each +1.0f (bit 0) or −1.0f (bit 1).
using unpack_sign_rows_fn = void (*)(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                                     size_t dst_stride);

struct PackBitsKernels {
  pack_sign_rows_fn sign_rows;
  pack_nchw_to_nhwc_bits_fn nchw_to_nhwc;
  unpack_sign_rows_fn unpack_rows;
  pack_sign_bytes_fn sign_bytes;
};

extern const PackBitsKernels kPackBitsRef;
void pack_sign_rows_ref(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst, size_t dst_stride);
void pack_nchw_to_nhwc_bits_ref(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst);
void unpack_sign_rows_ref(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst,
                          size_t dst_stride);
void pack_sign_bytes_ref(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst,
                         size_t dst_stride);

// The table of active_isa() (ref if this family has no variant for it).
const PackBitsKernels& pack_bits_kernels();
// nullptr if this build or CPU cannot run that ISA's variant (ref is never null).
const PackBitsKernels* pack_bits_kernels_for(Isa isa);

// Validating entry points (active table). Capacities count elements of the destination buffer.
// Status::null_pointer for a null buffer; Status::bad_size for rows/cols = 0, a stride smaller than the row, or a
// destination that cannot hold the result.
Status pack_sign_rows(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst, size_t dst_stride,
                      size_t dst_capacity_words);
Status pack_nchw_to_nhwc_bits(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst,
                              size_t dst_capacity_words);
// pack_sign_bytes splits the rows over `threads` OpenMP threads (0 = default_threads()) once the call packs more
// than 2^16 bytes; each row is packed by one thread, so the result does not depend on the count.
Status pack_sign_bytes(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst, size_t dst_stride,
                       size_t dst_capacity_words, int threads = 1);
Status unpack_sign_rows(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst, size_t dst_stride,
                        size_t dst_capacity_floats);

}  // namespace lowbit::kernels
