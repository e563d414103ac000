// AArch64 NEON bgemm (kernels/bgemm/bgemm.h), bit-identical to bgemm_ref.cpp.
//
// Math: dot(m, n) = K − 2·popcount(A_m ⊕ B_n) − corr(m, n), popcount over the kw words of both rows (tail bits are
// 0 in both operands, so the whole words can be used).
// Inner loop (neon::popcount_gemm in kernels/neon_util.h), per 128 bits = two words of one A row and one B row:
//   veorq_u64 → vcntq_u8 (bits per byte, 0..8) → vpadalq_u8 into a uint16x8 accumulator,
// i.e. three instructions per 128 bit-MACs, as in Larq's aarch64 kernels (eor, cnt, uadalp). A 4×4 register tile
// (4 A rows × 4 B rows, 16 accumulators + 8 loaded vectors of the 32 NEON registers) reuses every load four
// times. The accumulators are reduced with vaddlvq_u16 per tile (and every 4095 steps, before uint16 could wrap).
// No dot-product instruction is needed here, so this one variant runs on every armv8-a core.
// Outputs (the fused transforms of bgemm.h), applied per tile to its valid corner:
//   i32  C = dot;   f32  C = s·float(dot) then + b (two roundings, as the reference: the cross toolchain builds
//   with -ffp-contract=off so neither side is turned into an fmadd);
//   bits one bit per (n, m): (dot < threshold[m]) XOR flip[m]. MR = 4 divides 64, so a tile's 4 bits sit inside
//   one output word; threads split the N tiles, so each thread owns whole output rows [n][·]: the first tile of
//   a word (m0 % 64 == 0) stores it, later tiles OR into it, and bits m ≥ M are never set (they stay 0).
// No B repacking: scratch_words = 0.
#include <arm_neon.h>

#include "kernels/bgemm/bgemm.h"
#include "kernels/kassert.h"
#include "kernels/neon_util.h"

namespace lowbit::kernels {

namespace {

constexpr int kMR = 4, kNR = 4;
static_assert(kBitsPerWord % kMR == 0, "a bits-output tile must not straddle an output word");

struct XorPopcount {
  static constexpr int kA = 1, kB = 1, kCounts = 1;
  static void step(const uint64x2_t* a, const uint64x2_t* b, uint16x8_t* acc) {
    acc[0] = vpadalq_u8(acc[0], vcntq_u8(vreinterpretq_u8_u64(veorq_u64(a[0], b[0]))));
  }
};

void check_ops(const BgemmOperands& op) {
  LOWBIT_KASSERT(op.M > 0 && op.N > 0 && op.K > 0);
  LOWBIT_KASSERT(op.kw >= packed_words(op.K) && op.lda >= op.kw && op.ldb >= op.kw);
  LOWBIT_KASSERT(op.A && op.B && (!op.col_class || op.class_corr));
  (void)op;
}

inline int32_t dot_of(const BgemmOperands& op, size_t m, size_t n, uint32_t pop) {
  int32_t dot = static_cast<int32_t>(op.K) - 2 * static_cast<int32_t>(pop);
  if (op.col_class && op.col_class[n] != 0) dot -= op.class_corr[static_cast<size_t>(op.col_class[n]) * op.M + m];
  return dot;
}

// Runs the tiled XOR-popcount over all (m, n) and hands each tile's dots to out(m, n, dot).
template <class Out>
void for_each_dot(const BgemmOperands& op, int threads, const Out& out) {
  const bword* const a[1] = {op.A};
  const bword* const b[1] = {op.B};
  neon::popcount_gemm<XorPopcount, kMR, kNR>(
      op.M, op.N, op.kw, a, op.lda, b, op.ldb, threads,
      [&](size_t m0, size_t n0, size_t mr, size_t nr, const uint32_t (&cnt)[kMR][kNR][1]) {
        for (size_t j = 0; j < nr; ++j)
          for (size_t i = 0; i < mr; ++i) out(m0 + i, n0 + j, dot_of(op, m0 + i, n0 + j, cnt[i][j][0]));
      });
}

}  // namespace

void bgemm_b1b1_i32_neon(const BgemmOperands& op, const BgemmOutI32& out, bword*, int threads) {
  check_ops(op);
  for_each_dot(op, threads, [&](size_t m, size_t n, int32_t dot) { out.C[m * out.cs_m + n * out.cs_n] = dot; });
}

void bgemm_b1b1_f32_neon(const BgemmOperands& op, const BgemmOutF32& out, bword*, int threads) {
  check_ops(op);
  for_each_dot(op, threads, [&](size_t m, size_t n, int32_t dot) {
    const float s = out.scale ? out.scale[m] : 1.0f;
    const float b = out.bias ? out.bias[m] : 0.0f;
    const float prod = s * static_cast<float>(dot);
    out.C[m * out.cs_m + n * out.cs_n] = prod + b;
  });
}

void bgemm_b1b1_bits_neon(const BgemmOperands& op, const BgemmOutBits& out, bword*, int threads) {
  check_ops(op);
  LOWBIT_KASSERT(out.threshold && out.ldc >= packed_words(op.M));
  const bword* const a[1] = {op.A};
  const bword* const b[1] = {op.B};
  neon::popcount_gemm<XorPopcount, kMR, kNR>(
      op.M, op.N, op.kw, a, op.lda, b, op.ldb, threads,
      [&](size_t m0, size_t n0, size_t mr, size_t nr, const uint32_t (&cnt)[kMR][kNR][1]) {
        const size_t word = m0 / kBitsPerWord, shift = m0 % kBitsPerWord;
        const bword flip = out.flip ? (out.flip[word] >> shift) & 0xFu : 0;
        for (size_t j = 0; j < nr; ++j) {
          const size_t n = n0 + j;
          bword bits = 0;
          for (size_t i = 0; i < mr; ++i)
            bits |= bword(dot_of(op, m0 + i, n, cnt[i][j][0]) < out.threshold[m0 + i]) << i;
          bits ^= flip & ((bword{1} << mr) - 1);
          bword* dst = out.C + n * out.ldc + word;
          *dst = shift == 0 ? bits : (*dst | (bits << shift));
        }
      });
}

size_t bgemm_scratch_words_neon(size_t, size_t) { return 0; }

extern const BgemmKernels kBgemmNeon = {bgemm_b1b1_i32_neon, bgemm_b1b1_f32_neon, bgemm_b1b1_bits_neon,
                                        bgemm_scratch_words_neon};

}  // namespace lowbit::kernels
