// qgemm: low-bit integer weights × 8-bit activations, int32 accumulation.
//
//   C[m·ldc + n] = Σ_k (x[n][k] − x_zero) · w[m][k]        m < M (output channels), n < N, k < K
//
// Weights w: int2 (i2, values [−2, 1]; ternary {−1, 0, 1} included), int4 (i4, [−8, 7]) or int8 (i8), given in
// the canonical packing of kernels/packing.h and re-packed ONCE by qgemm_pack_weights() into the private layout
// below. Activations x: N rows of K bytes (row stride ldx bytes), either uint8 with a zero point x_zero
// (QAct::u8) or int8 two's complement (QAct::s8, x_zero must be 0).
//
// Why offset codes. The int8 dot instructions multiply an UNSIGNED byte by a SIGNED byte (VNNI vpdpbusd:
// 4 u8·s8 products summed into an int32 lane; AVX2 vpmaddubsw + vpmaddwd). We store every weight as the
// non-negative code u = w + off (off = 2 for i2, 8 for i4; for i8: off = 128 with s8 activations, 0 with u8),
// so u fits whichever operand slot the activation type leaves free:
//   u8 activations:  dpbusd(acc, x (u8), u (s8; u ≤ 15 for i2/i4, raw s8 for i8 with off = 0))
//   s8 activations:  dpbusd(acc, u (u8; u ≤ 255), x (s8))
// Either way acc = Σ x·u = Σ x·w + off·Σ_k x, hence
//   C = acc − off·xsum[n] − x_zero·wsum[m],     xsum[n] = Σ_k x[n][k] (computed per call, per column),
//                                              wsum[m] = Σ_k w[m][k] (signed, computed at pack time)
// exactly, as long as acc does not overflow: K ≤ 32768 (255·255·32768 < 2^31).
//
// Private packed layout (QgemmWeights::data, 64-byte aligned, identical for every ISA): rows in panels of 16
// (M padded with zero codes), K padded to the superblock length L (16 for i2, 8 for i4, 4 for i8) with zero
// CODES (u = 0, so padding contributes 0 whatever the activation bytes are). Panel p (rows 16p..16p+15) is
// Kpad/L consecutive 64-byte blocks; in block b, byte 4·l + t holds row 16p + l, and
//   i8: u(4b + t)
//   i4: low nibble u(8b + t), high nibble u(8b + 4 + t)
//   i2: bits [2q, 2q+1] = u(16b + 4q + t), q = 0..3
// so that one `and` (and a 16-bit shift) turns a block into whole zmm operands of 16 lanes × 4 consecutive k.
//
// Float output: C = scale[m]·float(int result) + (bias ? bias[m] : 0).
// Kernel preconditions (asserted): N > 0; ldx ≥ K; every activation row readable up to Kpad bytes (allocate
// activation buffers with kPackedOverreadBytes of slack: the kernels read, never use, up to L − 1 bytes past K);
// ldc ≥ N; x_zero = 0 for s8. Results identical for any thread count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

enum class QWeight : uint8_t { i2 = 0, i4 = 1, i8 = 2 };
enum class QAct : uint8_t { u8 = 0, s8 = 1 };

inline constexpr size_t kQgemmPanelRows = 16;
inline constexpr size_t kQgemmMaxK = 32768;
// Calls with fewer MACs than this run on one thread (a second thread costs more to wake than it saves).
inline constexpr size_t kQgemmParallelMinMacs = size_t(1) << 20;

constexpr size_t qgemm_superblock(QWeight w) { return w == QWeight::i2 ? 16 : (w == QWeight::i4 ? 8 : 4); }
constexpr size_t qgemm_padded_k(QWeight w, size_t k) { return (k + qgemm_superblock(w) - 1) / qgemm_superblock(w) * qgemm_superblock(w); }
constexpr size_t qgemm_panels(size_t m) { return (m + kQgemmPanelRows - 1) / kQgemmPanelRows; }
// Bytes of the packed panels (the row sums live in a separate int32 array of qgemm_panels(M)·16 entries).
constexpr size_t qgemm_packed_bytes(QWeight w, size_t m, size_t k) {
  return qgemm_panels(m) * (qgemm_padded_k(w, k) / qgemm_superblock(w)) * 64;
}
int32_t qgemm_code_offset(QWeight w, QAct x);

// A view of packed weights (buffers owned by the caller).
struct QgemmWeights {
  const uint8_t* data = nullptr;    // qgemm_packed_bytes() bytes, 64-byte aligned
  const int32_t* wsum = nullptr;    // qgemm_panels(M)·16 entries, Σ_k w[m][k]
  size_t M = 0, K = 0;
  QWeight wtype = QWeight::i8;
  QAct xtype = QAct::u8;
};

// Packs canonical weights (i2/i4: kernels/packing.h sub-byte rows; i8: int8 rows), row stride lds BYTES, into
// `data` (dst_bytes ≥ qgemm_packed_bytes, 64-byte aligned) and `wsum`. Fills *out on success. Returns
// null_pointer / bad_size (sizes, strides, alignment, K > kQgemmMaxK) — values cannot be out of range.
Status qgemm_pack_weights(QWeight wtype, QAct xtype, const void* src, size_t M, size_t K, size_t lds, uint8_t* data,
                          size_t dst_bytes, int32_t* wsum, QgemmWeights* out);
// Signed weight value (m, k) read back from the packed layout (tests, reference).
int qgemm_packed_weight(const QgemmWeights& w, size_t m, size_t k);

using qgemm_i32_fn = void (*)(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero,
                              int32_t* c, size_t ldc, int threads);
using qgemm_f32_fn = void (*)(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero,
                              const float* scale, const float* bias, float* c, size_t ldc, int threads);

// One entry per weight type; each handles both activation types (chosen at pack time, w.xtype).
struct QgemmKernels {
  qgemm_i32_fn i32[3];  // indexed by QWeight
  qgemm_f32_fn f32[3];
};

const QgemmKernels& qgemm_kernels();
const QgemmKernels* qgemm_kernels_for(Isa isa);

// Convenience: dispatch on w.wtype through the active table.
void qgemm_i32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c, size_t ldc,
               int threads);
void qgemm_f32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
               const float* bias, float* c, size_t ldc, int threads);

void qgemm_i32_ref(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c,
                   size_t ldc, int threads);
void qgemm_f32_ref(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
                   const float* bias, float* c, size_t ldc, int threads);

}  // namespace lowbit::kernels
