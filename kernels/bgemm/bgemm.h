// bgemm: binary × binary GEMM (b1×b1) with fused output transforms.
//
// Operands (kernels/packing.h convention, bit 1 = −1):
//   A: M rows (e.g. weights, one row per output channel), row m at A + m·lda, `kw` words each.
//   B: N rows (e.g. activations, one row per output pixel / sample), row n at B + n·ldb, `kw` words each.
//   dot(m, n) = Σ_k a_k·b_k = K − 2·popcount(A_m ⊕ B_n)      (summed over the kw words).
// K is the number of ±1 elements in the dot and kw ≥ packed_words(K) the number of words read per row. Every bit
// that is not an element (the row tail, and for bconv2d the tail of each tap's channel word) must be 0 in both A
// and B: 0 ⊕ 0 adds nothing to the popcount, so the formula above holds with the true K.
//
// Optional dot correction (bconv2d zero padding, see kernels/bconv2d/bconv2d.h):
//   if col_class != nullptr and col_class[n] != 0:   dot(m, n) −= class_corr[col_class[n]·M + m].
//
// Output transforms, fused into the same pass (each output element written once):
//   i32 : C[m·cs_m + n·cs_n] = dot(m, n)
//   f32 : C[m·cs_m + n·cs_n] = scale[m]·float(dot) + bias[m]      (folded BatchNorm; scale null → 1, bias null → 0;
//         evaluated as a float multiply then a float add, never fused, so every ISA gives the same bits).
//         (cs_m, cs_n) = (N, 1) writes [m][n] (NCHW when n is the pixel), (1, M) writes [n][m] (NHWC).
//   bits: C[n·ldc + m/64] bit m%64 = (dot(m, n) < threshold[m]) XOR flip bit m     (flip null → no flips)
//         i.e. the output is channel-packed [n][packed_words(M)] (ldc ≥ packed_words(M)); bits m ≥ M of the last
//         word of each row are written 0, so the result is directly the B operand of the next binary layer.
//
// Thresholds (BatchNorm + sign folded, as in Larq Compute Engine). With the BN folded into y = s·dot + b, the
// output bit must be 1 (−1) exactly when y < 0 (sign(0) = +1). dot is an integer, so
//   s > 0:  y < 0 ⇔ dot < −b/s  ⇔ dot < ⌈−b/s⌉               → threshold t = ⌈−b/s⌉,     flip 0
//   s < 0:  y < 0 ⇔ dot > −b/s  ⇔ dot ≥ ⌊−b/s⌋ + 1 ⇔ ¬(dot < t) → threshold t = ⌊−b/s⌋ + 1, flip 1
//   s = 0:  y = b, a constant: t = +∞ (bit 1) if b < 0 else −∞ (bit 0), flip 0.
// A negative BN scale (γ < 0) therefore costs one XOR per output word, not a second compare.
// bgemm_thresholds_from_affine() computes (t, flip) so that the bit equals the float test `s·float(dot) + b < 0`
// exactly for every |dot| < 2^24 (it starts from the formulas above and corrects the rounding by stepping: the
// float expression is monotone in dot because rounding is monotone).
//
// Scratch: optimized variants repack B into column panels (layout private to each variant, documented in its file)
// in caller-provided scratch of scratch_words(N, kw) words (8-byte aligned is enough: the variants align their per-thread
// panel slots to 64 bytes inside it). The reference needs none (0 words; scratch may then be null). Kernels never allocate.
// Threads: `threads` ≥ 1 splits output blocks with OpenMP (0 = default_threads()); every element is computed by one
// thread with integer arithmetic, so results are bit-identical for any thread count.
// Preconditions (LOWBIT_KASSERTed): M, N, K ≥ 1; kw ≥ packed_words(K); lda, ldb ≥ kw; for f32/i32 the output
// strides must not make two elements alias; for bits ldc ≥ packed_words(M) and threshold non-null.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

struct BgemmOperands {
  size_t M = 0, N = 0, K = 0;
  size_t kw = 0;  // words per row read from A and B
  const bword* A = nullptr;
  size_t lda = 0;
  const bword* B = nullptr;
  size_t ldb = 0;
  const int32_t* col_class = nullptr;   // optional: N class ids, 0 = no correction
  const int32_t* class_corr = nullptr;  // [classes][M], row 0 never read
};

struct BgemmOutI32 {
  int32_t* C = nullptr;
  size_t cs_m = 0, cs_n = 0;
};
struct BgemmOutF32 {
  float* C = nullptr;
  size_t cs_m = 0, cs_n = 0;
  const float* scale = nullptr;  // [M] or null (1)
  const float* bias = nullptr;   // [M] or null (0)
};
struct BgemmOutBits {
  bword* C = nullptr;
  size_t ldc = 0;
  const int32_t* threshold = nullptr;  // [M]
  const bword* flip = nullptr;         // [packed_words(M)] or null (no flips)
};

using bgemm_b1b1_i32_fn = void (*)(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads);
using bgemm_b1b1_f32_fn = void (*)(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads);
using bgemm_b1b1_bits_fn = void (*)(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads);
using bgemm_scratch_words_fn = size_t (*)(size_t N, size_t kw);

struct BgemmKernels {
  bgemm_b1b1_i32_fn i32;
  bgemm_b1b1_f32_fn f32;
  bgemm_b1b1_bits_fn bits;
  bgemm_scratch_words_fn scratch_words;
};

extern const BgemmKernels kBgemmRef;
void bgemm_b1b1_i32_ref(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads);
void bgemm_b1b1_f32_ref(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads);
void bgemm_b1b1_bits_ref(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads);
size_t bgemm_scratch_words_ref(size_t N, size_t kw);

// The table of active_isa() (ref if this family has no variant for it).
const BgemmKernels& bgemm_kernels();
// nullptr if this build or CPU cannot run that ISA's variant (ref is never null).
const BgemmKernels* bgemm_kernels_for(Isa isa);

// Scratch words any table may need for (N, kw): the maximum over the compiled variants (callers that pick the table
// at run time allocate this once).
size_t bgemm_scratch_words_max(size_t N, size_t kw);

// Per-channel (threshold, flip) for the bits output from the folded affine y = scale[m]·dot + bias[m] (see above).
// flip must hold packed_words(M) words; its tail bits are written 0.
void bgemm_thresholds_from_affine(const float* scale, const float* bias, size_t M, int32_t* threshold, bword* flip);

// Host-side check of operands and output (sizes, strides, null pointers): Status::ok or the first problem.
Status bgemm_check(const BgemmOperands& op);
Status bgemm_check(const BgemmOperands& op, const BgemmOutI32& out);
Status bgemm_check(const BgemmOperands& op, const BgemmOutF32& out);
Status bgemm_check(const BgemmOperands& op, const BgemmOutBits& out);

// scale·float(dot) + bias as two separately rounded float operations. GCC contracts a*b+c into an FMA in C++ by
// default wherever FMA is available (-ffp-contract=fast), which would make variants disagree in the last bit; the
// volatile product forbids that. SIMD variants use an empty asm barrier on the product vector for the same reason.
inline float bgemm_affine(float scale, int64_t dot, float bias) {
  volatile float prod = scale * static_cast<float>(dot);
  return prod + bias;
}

// Convenience: active table.
inline void bgemm_b1b1_i32(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads) {
  bgemm_kernels().i32(op, out, scratch, threads);
}
inline void bgemm_b1b1_f32(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads) {
  bgemm_kernels().f32(op, out, scratch, threads);
}
inline void bgemm_b1b1_bits(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads) {
  bgemm_kernels().bits(op, out, scratch, threads);
}

}  // namespace lowbit::kernels
