// The packing convention every low-bit kernel, the exporter and the runtime share. One header, checked by
// static_asserts; the pack/unpack functions themselves live in kernels/pack/.
//
// Binary (b1)
//   A ±1 vector of length K is stored as ceil(K/64) little-endian uint64_t words: element k is bit (k % 64) of
//   word k / 64. Bit 1 means −1, bit 0 means +1, and sign(0) = +1 (so x < 0 ⇔ bit 1).
//   For two such vectors,  Σ_k a_k·b_k = K − 2·popcount(a ⊕ b)  summed over the words.
//   Tail padding: the bits k ≥ K of the last word are 0 in *every* packed operand (the pack functions write them
//   as 0 whatever the source holds). 0 ⊕ 0 = 0, so padding adds nothing to the popcount, and the formula above
//   uses the true K, never 64·words. A kernel may therefore run over whole words without masking.
//
// Ternary (t2): two binary planes of the same shape as b1, `mask` (bit 1 = nonzero) and `sign` (bit 1 = −1).
//   Canonical form: sign ⊆ mask (sign bits are 0 where mask is 0), tails 0 in both planes.
//
// k-bit unsigned codes (bit-serial, 1 ≤ k ≤ 8): code c = Σ_i 2^i·bit_i. A row of K codes is stored as k
//   consecutive b1-shaped planes (plane i = bit i of each code, LSB plane first), each ceil(K/64) words, tails 0.
//   Σ_k w_k·a_k = Σ_i Σ_j 2^(i+j)·popcount(w_i & a_j).
//
// int4 (i4): two signed two's-complement values in [−8, 7] per byte, element 2j in the LOW nibble of byte j,
//   element 2j+1 in the high nibble. An odd count leaves the last high nibble 0.
// int2 (i2): four signed two's-complement values in [−2, 1] per byte, element 4j+t in bits [2t, 2t+1] of byte j.
//   Ternary weights {−1, 0, +1} stored as i2 use this encoding (−1 = 0b11, 0 = 0b00, +1 = 0b01).
// int8 activations (u8/i8): uint8 with a zero point, or int8 two's complement, one per byte.
//
// Optimized kernels may re-pack these canonical formats into their own blocked/interleaved layouts once
// (weights at load time); those layouts are private to the kernel family and documented in its header.
#pragma once
#include <climits>
#include <cstddef>
#include <cstdint>

namespace lowbit::kernels {

using bword = uint64_t;                    // one word of packed binary values
inline constexpr size_t kBitsPerWord = 64;  // binary values per bword
// Optimized kernels may read (never write) up to this many bytes past the end of a packed buffer;
// callers allocate packed buffers with this much slack.
inline constexpr size_t kPackedOverreadBytes = 64;

static_assert(sizeof(bword) * CHAR_BIT == kBitsPerWord, "a bword holds exactly 64 binary values");
static_assert(static_cast<bword>(~bword{0}) >> 63 == 1, "bword must be an unsigned 64-bit integer");

// Words needed for k binary values (one plane of one row).
constexpr size_t packed_words(size_t k) { return (k + kBitsPerWord - 1) / kBitsPerWord; }
// Bytes for n int4 / int2 values.
constexpr size_t packed_bytes_i4(size_t n) { return (n + 1) / 2; }
constexpr size_t packed_bytes_i2(size_t n) { return (n + 3) / 4; }
// Mask of the valid bits in the last word of a k-bit row (all ones when k is a multiple of 64).
constexpr bword tail_mask(size_t k) {
  return (k % kBitsPerWord) == 0 ? ~bword{0} : ((bword{1} << (k % kBitsPerWord)) - 1);
}

static_assert(packed_words(1) == 1 && packed_words(64) == 1 && packed_words(65) == 2, "ceil(K/64)");
static_assert(tail_mask(64) == ~bword{0} && tail_mask(3) == 0x7, "tail mask keeps the low K%64 bits");
static_assert(packed_bytes_i4(3) == 2 && packed_bytes_i2(5) == 2, "sub-byte packing sizes");

// Bit value of a real number: 1 for negative (−1), 0 for zero and positive (+1).
constexpr bword sign_bit(float x) { return x < 0.0f ? 1u : 0u; }
static_assert(sign_bit(0.0f) == 0 && sign_bit(-0.5f) == 1 && sign_bit(2.0f) == 0, "bit 1 = −1, sign(0) = +1");

// Status of the validating (public) pack entry points; kernels proper assert instead.
enum class Status : int {
  ok = 0,
  null_pointer = 1,
  bad_size = 2,     // a size is 0 where it must not be, or a stride is smaller than the row
  out_of_range = 3, // a value does not fit the target format (e.g. an int4 code outside [−8, 7])
  unsupported = 4,  // a combination the callee cannot compute (kernels/qlayer: formats × backend, input × route)
};
const char* status_name(Status s);

}  // namespace lowbit::kernels
