// AVX-512 bgemm (VPOPCNTDQ): vectorised over N, 8 columns × one 64-bit K-word per zmm.
//
// Math. dot(m, n) = K − 2·popcount(A_m ⊕ B_n). For a zmm holding word k of 8 columns n..n+7 and A_m[k] broadcast
// to all lanes, `vpxorq` + `vpopcntq` + `vpaddq` adds popcount(A_m[k] ⊕ B_{n+l}[k]) to lane l of an int64
// accumulator. That is 3 zmm ops per 512 bit-MACs, the measured optimum on Zen 4 (kernels.md §1: popcount is
// double-pumped, so carry-save trees gain nothing here).
//
// Register tile 4 × 24: 4 rows of A (broadcasts read straight from A: no repacking of A) × 3 zmm of B (24 columns)
// = 12 accumulators + 3 B registers per k-word; the 4 broadcasts are `vpbroadcastq` loads that keep off the ALU
// ports. (8 × 24 was measured too: the inner loop gains a little, but the i32/f32 transforms then run out of
// registers and 1024³ i32 drops from ~80 % to ~64 % of the ceiling.)
//
// B panels (bgemm_driver.h): 24 columns, word k of column j at slot[k·24 + j], so one k step reads 3 consecutive
// zmm (192 contiguous bytes) and a whole panel (24·kw words, 7 KB at K = 2304) stays in L1 while the row blocks
// of A stream past it. Columns past N are zero words: computed (dot = K), never stored. Work units and threads:
// bgemm_driver.h (whole panels per grab, guided schedule; items of 64 rows = one word for the bits output, of
// 16 rows for i32/f32).
//
// Output transforms, applied to the accumulators while they are still in registers (the tile loops are fully
// unrolled so the 12 accumulators never go through the stack; an earlier version indexed them with a run-time
// row loop, spilled all of them after every tile and ran 1024³ i32 at ~58 % of the ceiling instead of ~80 %):
//   dot = K − 2·acc (int64 lanes), minus class_corr[class·M + m] for lanes whose column class is non-zero (the
//   per-group lane masks and offsets are computed once per panel, not per tile; one or two corrected lanes take a
//   masked broadcast subtract each, more take one masked vpgatherdd per row; interior groups take nothing);
//   i32: vpmovqd to 8 int32 and a plain 32-byte store (masked only in the last, partial group; a strided scalar
//   store for cs_n ≠ 1);
//   f32: vcvtqq2ps, multiply by scale[m], asm barrier (no FMA contraction), add bias[m], store as i32;
//   bits: vpcmpq dot < threshold[m] gives an 8-bit mask per (row, 8 columns) — one byte of a 64-byte buffer whose
//   byte r is row r of the 64-row block. The buffer is a 64 × 8 bit matrix; `vptestmb` with 1 << l pulls out bit l
//   of every byte as a 64-bit mask = the packed output word of column l (bit r = row r). XOR with the flip word
//   and the tail mask, store. Rows past M leave zero bytes, so tail bits are 0.
#include <immintrin.h>

#include "kernels/bgemm/bgemm_driver.h"

namespace lowbit::kernels {

namespace {

constexpr size_t kNR = 24;  // panel width: 3 zmm × 8 columns
constexpr int kNV = 3;      // zmm per panel row
constexpr int kMR = 4;      // rows per register tile
constexpr size_t kMB = 64;  // rows per work item of the bits output (one output word)
// Rows per work item of the i32/f32 outputs: nothing ties them to a word, and small layers with few panels (e.g.
// 64×64×576: 3 panels) then still split evenly over two threads (12 items instead of 3).
constexpr size_t kMBDense = 16;
static_assert(kMB % kMR == 0 && kMBDense % kMR == 0 && kMR == 4, "row blocks hold whole tiles; tail_rows covers 1..3");

template <int MR, int NV>
inline void micro_tile(const bword* a, size_t lda, const bword* bp, size_t kw, __m512i (&acc)[MR][NV]) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_si512();
  for (size_t k = 0; k < kw; ++k) {
    __m512i b[NV];
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) b[j] = _mm512_loadu_si512(bp + k * kNR + 8 * j);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_set1_epi64(static_cast<long long>(a[static_cast<size_t>(i) * lda + k]));
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j)
        acc[i][j] = _mm512_add_epi64(acc[i][j], _mm512_popcnt_epi64(_mm512_xor_si512(av, b[j])));
    }
  }
}

inline __mmask8 lane_mask(size_t valid) {
  return valid >= 8 ? static_cast<__mmask8>(0xFF) : static_cast<__mmask8>((1u << valid) - 1);
}

// Column-class corrections of one 8-column group: which lanes need one and their row offsets cls·M into
// class_corr. In a conv most corrected groups hold one or two border pixels (the first / last column of an image
// row): those lanes get a scalar load + masked broadcast subtract each; groups with more corrected lanes (top and
// bottom image rows) use one masked 32-bit gather per row.
struct GroupCorr {
  __mmask8 lanes = 0;
  int count = 0;
  __mmask8 lane_bit[2] = {};
  size_t off[2] = {};
  __m256i offsets = _mm256_setzero_si256();
};

struct PanelCorr {
  GroupCorr g[kNV];
  bool any = false;
};

inline GroupCorr group_corr(const BgemmOperands& op, size_t n0, size_t valid) {
  GroupCorr g;
  const __m256i cls = _mm256_maskz_loadu_epi32(lane_mask(valid), op.col_class + n0);
  g.lanes = _mm256_test_epi32_mask(cls, cls);
  if (!g.lanes) return g;
  g.count = __builtin_popcount(g.lanes);
  if (g.count <= 2) {
    unsigned bits = g.lanes;
    for (int i = 0; i < g.count; ++i, bits &= bits - 1) {
      const unsigned lane = static_cast<unsigned>(__builtin_ctz(bits));
      g.lane_bit[i] = static_cast<__mmask8>(1u << lane);
      g.off[i] = static_cast<size_t>(op.col_class[n0 + lane]) * op.M;
    }
  } else {
    g.offsets = _mm256_mullo_epi32(cls, _mm256_set1_epi32(static_cast<int>(op.M)));
  }
  return g;
}

inline PanelCorr panel_corr(const BgemmOperands& op, size_t panel_n0) {
  PanelCorr pc;
  if (!op.col_class) return pc;
  for (int j = 0; j < kNV; ++j) {
    const size_t n0 = panel_n0 + 8 * static_cast<size_t>(j);
    if (n0 >= op.N) break;
    pc.g[j] = group_corr(op, n0, op.N - n0 < 8 ? op.N - n0 : 8);
    pc.any = pc.any || pc.g[j].lanes;
  }
  return pc;
}

inline __m512i apply_corr(const BgemmOperands& op, const GroupCorr& g, size_t m, __m512i dot) {
  if (!g.lanes) return dot;
  if (g.count <= 2) {
    for (int i = 0; i < g.count; ++i)
      dot = _mm512_mask_sub_epi64(dot, g.lane_bit[i], dot, _mm512_set1_epi64(op.class_corr[g.off[i] + m]));
    return dot;
  }
  const __m256i c = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), g.lanes, g.offsets, op.class_corr + m, 4);
  return _mm512_sub_epi64(dot, _mm512_maskz_cvtepi32_epi64(0xFF, c));
}

// Stores 8 int32 / float lanes of row m at columns n0.. (cs_n = 1: one plain store unless the group is partial).
template <class T, class V>
inline void store_row(T* c, size_t cs_n, size_t n0, size_t valid, V v) {
  if (cs_n == 1) {
    if (valid == 8)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + n0), reinterpret_cast<__m256i&>(v));
    else
      _mm256_mask_storeu_epi32(c + n0, lane_mask(valid), reinterpret_cast<__m256i&>(v));
  } else {
    alignas(32) T t[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), reinterpret_cast<__m256i&>(v));
    for (size_t l = 0; l < valid; ++l) c[(n0 + l) * cs_n] = t[l];
  }
}

struct EpiI32 {
  int32_t* C;
  size_t cs_m, cs_n;
  void row(size_t m, int, size_t n0, size_t valid, __m512i dot) const {
    store_row(C + m * cs_m, cs_n, n0, valid, _mm512_maskz_cvtepi64_epi32(0xFF, dot));
  }
  void finish(const BgemmOperands&, size_t, size_t) {}
};

struct EpiF32 {
  float* C;
  size_t cs_m, cs_n;
  const float* scale;
  const float* bias;
  void row(size_t m, int, size_t n0, size_t valid, __m512i dot) const {
    __m256 prod = _mm256_mul_ps(_mm512_maskz_cvtepi64_ps(0xFF, dot), _mm256_set1_ps(scale ? scale[m] : 1.0f));
    asm("" : "+v"(prod));  // keep the product rounded on its own: no FMA, same bits as the reference
    store_row(C + m * cs_m, cs_n, n0, valid, _mm256_add_ps(prod, _mm256_set1_ps(bias ? bias[m] : 0.0f)));
  }
  void finish(const BgemmOperands&, size_t, size_t) {}
};

struct EpiBits {
  const BgemmOutBits& out;
  const int32_t* threshold;
  size_t m_block0;
  alignas(64) uint8_t masks[kNV][kMB] = {};  // [8-column group][row in block]
  void row(size_t m, int j, size_t, size_t, __m512i dot) {
    masks[j][m - m_block0] = _mm512_cmplt_epi64_mask(dot, _mm512_set1_epi64(threshold[m]));
  }
  // After all rows of the block: transpose to one word per column.
  void finish(const BgemmOperands& op, size_t panel_n0, size_t block_rows) {
    const size_t word = m_block0 / kBitsPerWord;
    const bword keep = block_rows == kMB ? ~bword{0} : ((bword{1} << block_rows) - 1);
    const bword flip = out.flip ? out.flip[word] : 0;
    for (size_t g = 0; g < static_cast<size_t>(kNV); ++g) {
      const size_t n0 = panel_n0 + 8 * g;
      if (n0 >= op.N) break;
      const size_t valid = op.N - n0 < 8 ? op.N - n0 : 8;
      const __m512i v = _mm512_load_si512(masks[g]);
      for (size_t l = 0; l < valid; ++l) {
        const bword bits = _mm512_test_epi8_mask(v, _mm512_set1_epi8(static_cast<char>(1u << l)));
        out.C[(n0 + l) * out.ldc + word] = (bits ^ flip) & keep;
      }
    }
  }
};

template <int MR, int NV, bool CORR, class Epi>
inline void tile(const BgemmOperands& op, const bword* bp, size_t m0, size_t panel_n0, const PanelCorr& pc,
                 Epi& epi) {
  __m512i acc[MR][NV];
  micro_tile<MR, NV>(op.A + m0 * op.lda, op.lda, bp, op.kw, acc);
  const __m512i kv = _mm512_set1_epi64(static_cast<long long>(op.K));
#pragma GCC unroll 3
  for (int j = 0; j < NV; ++j) {
    const size_t n0 = panel_n0 + 8 * static_cast<size_t>(j);
    const size_t valid = op.N - n0 < 8 ? op.N - n0 : 8;
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const size_t m = m0 + static_cast<size_t>(i);
      __m512i dot = _mm512_sub_epi64(kv, _mm512_add_epi64(acc[i][j], acc[i][j]));
      if (CORR) dot = apply_corr(op, pc.g[j], m, dot);
      epi.row(m, j, n0, valid, dot);
    }
  }
}

// The last tile of a block with fewer than kMR rows.
template <int NV, bool CORR, class Epi>
inline void tail_rows(const BgemmOperands& op, const bword* bp, size_t m0, size_t rows, size_t panel_n0,
                      const PanelCorr& pc, Epi& epi) {
  switch (rows) {
    case 3: tile<3, NV, CORR>(op, bp, m0, panel_n0, pc, epi); break;
    case 2: tile<2, NV, CORR>(op, bp, m0, panel_n0, pc, epi); break;
    default: tile<1, NV, CORR>(op, bp, m0, panel_n0, pc, epi); break;
  }
}

template <int NV, bool CORR, class Epi>
inline void block_rows(const BgemmOperands& op, const bword* bp, size_t m_block0, size_t m_end, size_t panel_n0,
                       const PanelCorr& pc, Epi& epi) {
  for (size_t m0 = m_block0; m0 < m_end; m0 += kMR) {
    const size_t rows = m_end - m0 < static_cast<size_t>(kMR) ? m_end - m0 : kMR;
    if (rows == static_cast<size_t>(kMR))
      tile<kMR, NV, CORR>(op, bp, m0, panel_n0, pc, epi);
    else
      tail_rows<NV, CORR>(op, bp, m0, rows, panel_n0, pc, epi);
  }
}

// One work item: rows [m_block0, m_block0 + 64) × the 24 columns of panel p.
template <size_t MB, class Epi>
void item(const BgemmOperands& op, const bword* panel, size_t p, size_t m_block0, Epi& epi) {
  const size_t panel_n0 = p * kNR;
  const size_t cols = op.N - panel_n0 < kNR ? op.N - panel_n0 : kNR;
  const int nv = static_cast<int>((cols + 7) / 8);
  const size_t m_end = m_block0 + MB < op.M ? m_block0 + MB : op.M;
  const PanelCorr pc = panel_corr(op, panel_n0);
  if (pc.any) {
    switch (nv) {
      case 3: block_rows<3, true>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
      case 2: block_rows<2, true>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
      default: block_rows<1, true>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
    }
  } else {
    switch (nv) {
      case 3: block_rows<3, false>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
      case 2: block_rows<2, false>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
      default: block_rows<1, false>(op, panel, m_block0, m_end, panel_n0, pc, epi); break;
    }
  }
  epi.finish(op, panel_n0, m_end - m_block0);
}

void bgemm_b1b1_i32_avx512(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads) {
  drive_items<kNR, kMBDense>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiI32 epi{out.C, out.cs_m, out.cs_n};
    item<kMBDense>(op, panel, p, m_block0, epi);
  });
}

void bgemm_b1b1_f32_avx512(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads) {
  drive_items<kNR, kMBDense>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiF32 epi{out.C, out.cs_m, out.cs_n, out.scale, out.bias};
    item<kMBDense>(op, panel, p, m_block0, epi);
  });
}

void bgemm_b1b1_bits_avx512(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads) {
  LOWBIT_KASSERT(out.threshold && out.ldc >= packed_words(op.M));
  drive_items<kNR, kMB>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiBits epi{out, out.threshold, m_block0};
    item<kMB>(op, panel, p, m_block0, epi);
  });
}

}  // namespace

extern const BgemmKernels kBgemmAvx512;
const BgemmKernels kBgemmAvx512 = {bgemm_b1b1_i32_avx512, bgemm_b1b1_f32_avx512, bgemm_b1b1_bits_avx512,
                                   driver_scratch_words<kNR>};

}  // namespace lowbit::kernels
