// AVX-512 bgemm (VPOPCNTDQ): vectorised over N, 8 columns × one 64-bit K-word per zmm.
//
// Math. dot(m, n) = K − 2·popcount(A_m ⊕ B_n). For a zmm holding word k of 8 columns n..n+7 and A_m[k] broadcast
// to all lanes, `vpxorq` + `vpopcntq` + `vpaddq` adds popcount(A_m[k] ⊕ B_{n+l}[k]) to lane l of an int64
// accumulator. That is 3 zmm ops per 512 bit-MACs, the measured optimum on Zen 4 (kernels.md §1: popcount is
// double-pumped, so carry-save trees gain nothing here).
//
// Register tile 4 × 24: 4 rows of A (broadcasts, read straight from A: no repacking of A) × 3 zmm of B (24
// columns) = 12 accumulators + 3 B registers per k-word; the 4 broadcasts are `vpbroadcastq` / `{1to8}` loads that
// keep off the ALU ports.
//
// B panel layout (private, in caller scratch): B is repacked into panels of 24 columns,
//   word k, column j of panel p  →  slot[k·24 + j]   (= B[(24p + j)·ldb + k], 0 past N),
// so one k step reads 3 consecutive zmm (192 contiguous bytes) and a whole panel (24·kw words, 7 KB at K = 2304)
// stays in L1 while the 64-row block of A streams past it. Columns past N are zero words: they are computed
// (dot = K) and never stored. Packing a panel costs 24·kw word copies against 64·24·kw·3/8 vector ops per item.
//
// Work items: (panel, block of 64 rows), panel-major. 64 rows = one output word of the bits transform, so no two
// threads ever write the same word. Items go out dynamically; each thread packs the panel of its item into its
// own scratch slot (repacking only when the panel changes), so there is no barrier between packing and compute.
//
// Output transforms (on the int64 lanes of the 12 accumulators, before anything leaves registers):
//   dot = K − 2·acc (− class_corr[class·M + m] for the lanes whose column class is non-zero: masked broadcast
//   subtracts for one or two such lanes, a masked vpgatherdd for more; nothing for interior groups);
//   i32: vpmovqd to 8 int32, masked store (or a strided scalar store for cs_n ≠ 1);
//   f32: vcvtqq2ps, multiply by scale[m], asm barrier (no FMA contraction), add bias[m];
//   bits: vpcmpq dot < threshold[m] gives an 8-bit mask per (row, 8 columns) — one byte of a 64-byte buffer whose
//   byte r is row r of the 64-row block. The buffer is a 64 × 8 bit matrix; `vptestmb` with 1 << l pulls out bit l
//   of every byte as a 64-bit mask = the packed output word of column l (bit r = row r). XOR with the flip word
//   and the tail mask, store. Rows past M leave zero bytes, so tail bits are 0.
#include <immintrin.h>

#include <type_traits>

#include "kernels/bgemm/bgemm.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

constexpr size_t kNR = 24;  // panel width: 3 zmm × 8 columns
constexpr int kMR = 4;      // rows per register tile
constexpr size_t kMB = 64;  // rows per work item

size_t scratch_words_avx512(size_t N, size_t kw) { return (N + kNR - 1) / kNR * kNR * kw; }

void pack_panel(const BgemmOperands& op, size_t p, bword* dst) {
  const size_t n0 = p * kNR;
  for (size_t j = 0; j < kNR; ++j) {
    const size_t n = n0 + j;
    if (n < op.N) {
      const bword* src = op.B + n * op.ldb;
      for (size_t k = 0; k < op.kw; ++k) dst[k * kNR + j] = src[k];
    } else {
      for (size_t k = 0; k < op.kw; ++k) dst[k * kNR + j] = 0;
    }
  }
}

template <int MR, int NV>
inline void micro_tile(const bword* a, size_t lda, const bword* bp, size_t kw, __m512i (&acc)[kMR][3]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NV; ++j) acc[i][j] = _mm512_setzero_si512();
  const bword* a_row[MR];
  for (int i = 0; i < MR; ++i) a_row[i] = a + static_cast<size_t>(i) * lda;
  for (size_t k = 0; k < kw; ++k) {
    __m512i b[NV];
    for (int j = 0; j < NV; ++j) b[j] = _mm512_loadu_si512(bp + k * kNR + 8 * j);
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_set1_epi64(static_cast<long long>(a_row[i][k]));
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
  unsigned lane[2] = {};
  size_t off[2] = {};
  __m256i offsets = _mm256_setzero_si256();
};

inline GroupCorr group_corr(const BgemmOperands& op, size_t n0, size_t valid) {
  GroupCorr g;
  if (!op.col_class) return g;
  const __m256i cls = _mm256_maskz_loadu_epi32(lane_mask(valid), op.col_class + n0);
  g.lanes = _mm256_test_epi32_mask(cls, cls);
  if (!g.lanes) return g;
  g.count = __builtin_popcount(g.lanes);
  if (g.count <= 2) {
    unsigned bits = g.lanes;
    for (int i = 0; i < g.count; ++i, bits &= bits - 1) {
      g.lane[i] = static_cast<unsigned>(__builtin_ctz(bits));
      g.off[i] = static_cast<size_t>(op.col_class[n0 + g.lane[i]]) * op.M;
    }
  } else {
    g.offsets = _mm256_mullo_epi32(cls, _mm256_set1_epi32(static_cast<int>(op.M)));
  }
  return g;
}

inline __m512i apply_corr(const BgemmOperands& op, const GroupCorr& g, size_t m, __m512i dot) {
  if (!g.lanes) return dot;
  if (g.count <= 2) {
    for (int i = 0; i < g.count; ++i)
      dot = _mm512_mask_sub_epi64(dot, static_cast<__mmask8>(1u << g.lane[i]), dot,
                                  _mm512_set1_epi64(op.class_corr[g.off[i] + m]));
    return dot;
  }
  const __m256i c = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), g.lanes, g.offsets, op.class_corr + m, 4);
  return _mm512_sub_epi64(dot, _mm512_maskz_cvtepi32_epi64(0xFF, c));
}

struct EpiI32 {
  const BgemmOutI32& out;
  void row(size_t m, size_t n0, size_t valid, __m512i dot) const {
    const __m256i v = _mm512_maskz_cvtepi64_epi32(0xFF, dot);
    int32_t* c = out.C + m * out.cs_m;
    if (out.cs_n == 1) {
      _mm256_mask_storeu_epi32(c + n0, lane_mask(valid), v);
    } else {
      alignas(32) int32_t t[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), v);
      for (size_t l = 0; l < valid; ++l) c[(n0 + l) * out.cs_n] = t[l];
    }
  }
};

struct EpiF32 {
  const BgemmOutF32& out;
  void row(size_t m, size_t n0, size_t valid, __m512i dot) const {
    __m256 prod = _mm256_mul_ps(_mm512_maskz_cvtepi64_ps(0xFF, dot), _mm256_set1_ps(out.scale ? out.scale[m] : 1.0f));
    asm("" : "+v"(prod));  // keep the product rounded on its own: no FMA, same bits as the reference
    const __m256 v = _mm256_add_ps(prod, _mm256_set1_ps(out.bias ? out.bias[m] : 0.0f));
    float* c = out.C + m * out.cs_m;
    if (out.cs_n == 1) {
      _mm256_mask_storeu_ps(c + n0, lane_mask(valid), v);
    } else {
      alignas(32) float t[8];
      _mm256_store_ps(t, v);
      for (size_t l = 0; l < valid; ++l) c[(n0 + l) * out.cs_n] = t[l];
    }
  }
};

struct EpiBits {
  const BgemmOutBits& out;
  size_t m_block0;
  alignas(64) uint8_t masks[3][kMB] = {};  // [8-column group][row in block]
  void row(size_t m, size_t n0, size_t, __m512i dot) {
    const __mmask8 neg = _mm512_cmplt_epi64_mask(dot, _mm512_set1_epi64(out.threshold[m]));
    masks[(n0 % kNR) / 8][m - m_block0] = neg;
  }
  // After all rows of the block: transpose to one word per column.
  void finish(const BgemmOperands& op, size_t panel_n0, size_t block_rows) {
    const size_t word = m_block0 / kBitsPerWord;
    bword keep = block_rows == kMB ? ~bword{0} : ((bword{1} << block_rows) - 1);
    const bword flip = out.flip ? out.flip[word] : 0;
    for (size_t g = 0; g < 3; ++g) {
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

template <int MR, int NV, class Epi>
inline void tile(const BgemmOperands& op, const bword* bp, size_t m0, size_t panel_n0, Epi& epi) {
  __m512i acc[kMR][3];
  micro_tile<MR, NV>(op.A + m0 * op.lda, op.lda, bp, op.kw, acc);
  const __m512i kv = _mm512_set1_epi64(static_cast<long long>(op.K));
  for (int j = 0; j < NV; ++j) {
    const size_t n0 = panel_n0 + 8 * static_cast<size_t>(j);
    if (n0 >= op.N) break;
    const size_t valid = op.N - n0 < 8 ? op.N - n0 : 8;
    const GroupCorr g = group_corr(op, n0, valid);
    for (int i = 0; i < MR; ++i) {
      const size_t m = m0 + static_cast<size_t>(i);
      const __m512i dot = _mm512_sub_epi64(kv, _mm512_add_epi64(acc[i][j], acc[i][j]));
      epi.row(m, n0, valid, apply_corr(op, g, m, dot));
    }
  }
}

template <int NV, class Epi>
inline void tile_rows(const BgemmOperands& op, const bword* bp, size_t m0, int rows, size_t panel_n0, Epi& epi) {
  switch (rows) {
    case 4: tile<4, NV>(op, bp, m0, panel_n0, epi); break;
    case 3: tile<3, NV>(op, bp, m0, panel_n0, epi); break;
    case 2: tile<2, NV>(op, bp, m0, panel_n0, epi); break;
    default: tile<1, NV>(op, bp, m0, panel_n0, epi); break;
  }
}

template <class Epi>
void item(const BgemmOperands& op, const bword* panel, size_t p, size_t m_block0, Epi& epi) {
  const size_t panel_n0 = p * kNR;
  const bword* bp = panel;
  const size_t cols = op.N - panel_n0 < kNR ? op.N - panel_n0 : kNR;
  const int nv = static_cast<int>((cols + 7) / 8);
  const size_t m_end = m_block0 + kMB < op.M ? m_block0 + kMB : op.M;
  for (size_t m0 = m_block0; m0 < m_end; m0 += kMR) {
    const int rows = static_cast<int>(m_end - m0 < static_cast<size_t>(kMR) ? m_end - m0 : kMR);
    switch (nv) {
      case 3: tile_rows<3>(op, bp, m0, rows, panel_n0, epi); break;
      case 2: tile_rows<2>(op, bp, m0, rows, panel_n0, epi); break;
      default: tile_rows<1>(op, bp, m0, rows, panel_n0, epi); break;
    }
  }
}

void check_ops(const BgemmOperands& op, const bword* scratch) {
  LOWBIT_KASSERT(op.M > 0 && op.N > 0 && op.K > 0);
  LOWBIT_KASSERT(op.kw >= packed_words(op.K) && op.lda >= op.kw && op.ldb >= op.kw);
  LOWBIT_KASSERT(op.A && op.B && scratch && (!op.col_class || op.class_corr));
  (void)op;
  (void)scratch;
}

// Packs every panel, then runs every (panel, row block) item; make_epi(m_block0) builds the item's transform.
// Threads worth starting: no more than there are items, and one for calls too small to amortise waking a
// second thread (~64K word-ops ≈ 10 µs of work).
int useful_threads(int threads, long long items, long long panels, size_t word_ops) {
  long long nt = threads > 0 ? threads : default_threads();
  if (nt > items) nt = items;
  if (nt > panels) nt = panels;  // one scratch panel slot per thread
  if (word_ops < (size_t{1} << 16)) nt = 1;
  return static_cast<int>(nt < 1 ? 1 : nt);
}

template <class MakeEpi>
void run(const BgemmOperands& op, bword* scratch, int threads, MakeEpi make_epi) {
  check_ops(op, scratch);
  const long long panels = static_cast<long long>((op.N + kNR - 1) / kNR);
  const long long blocks = static_cast<long long>((op.M + kMB - 1) / kMB);
  const long long items = panels * blocks;
  const int nt = useful_threads(threads, items, panels, op.M * op.N * op.kw);
  (void)nt;
  // Each thread packs the panel of its current item into its own slot of the scratch (slot t = panel-sized block
  // t; nt ≤ panels so the slots fit), repacking only when its next item is on another panel. No barrier and a
  // dynamic schedule: a thread the OS deschedules does not hold the other one up, and any thread count computes
  // every element the same way.
  const long long chunk = panels >= 4LL * nt ? blocks * (panels / (4LL * nt)) : 1;  // ~4 grabs per thread
  (void)chunk;
  LOWBIT_OMP(parallel num_threads(nt))
  {
    int slot = 0;
#if defined(_OPENMP)
    slot = omp_get_thread_num();
#endif
    bword* mine = scratch + static_cast<size_t>(slot) * kNR * op.kw;
    size_t packed = SIZE_MAX;
    // Whole panels (all row blocks, about a quarter of a thread's share) per grab when there are enough panels
    // to balance: little repacking, few atomic grabs, and two threads never write neighbouring words of one
    // output row (bits output: false sharing). Few panels: one item per grab.
    LOWBIT_OMP(for schedule(dynamic, chunk) nowait)
    for (long long it = 0; it < items; ++it) {
      const size_t p = static_cast<size_t>(it / blocks), m_block0 = static_cast<size_t>(it % blocks) * kMB;
      if (packed != p) {
        pack_panel(op, p, mine);
        packed = p;
      }
      auto epi = make_epi(m_block0);
      item(op, mine, p, m_block0, epi);
      if constexpr (std::is_same_v<decltype(epi), EpiBits>) {
        const size_t rows = op.M - m_block0 < kMB ? op.M - m_block0 : kMB;
        epi.finish(op, p * kNR, rows);
      }
    }
  }
}

void bgemm_b1b1_i32_avx512(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads) {
  run(op, scratch, threads, [&](size_t) { return EpiI32{out}; });
}

void bgemm_b1b1_f32_avx512(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads) {
  run(op, scratch, threads, [&](size_t) { return EpiF32{out}; });
}

void bgemm_b1b1_bits_avx512(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads) {
  LOWBIT_KASSERT(out.threshold && out.ldc >= packed_words(op.M));
  run(op, scratch, threads, [&](size_t m_block0) { return EpiBits{out, m_block0}; });
}

}  // namespace

extern const BgemmKernels kBgemmAvx512;
const BgemmKernels kBgemmAvx512 = {bgemm_b1b1_i32_avx512, bgemm_b1b1_f32_avx512, bgemm_b1b1_bits_avx512,
                                   scratch_words_avx512};

}  // namespace lowbit::kernels
