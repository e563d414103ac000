// AVX2 bgemm (no VPOPCNTQ): vectorised over N, 4 columns × one 64-bit K-word per ymm, nibble-LUT popcount.
//
// Math. dot(m, n) = K − 2·popcount(A_m ⊕ B_n). popcount of each byte of x = LUT[x & 15] + LUT[x >> 4] with the
// 16-entry table in a register (`vpshufb`); byte counts of up to 31 words are summed in 8-bit lanes (31·8 = 248
// < 256 cannot overflow), then `vpsadbw` against zero adds the 8 bytes of each 64-bit lane — exactly the per-column
// popcount, since a column owns one 64-bit lane — into int64 accumulators. Harley-Seal would save some lookups
// but is left out: this variant is the fallback for CPUs without AVX-512.
//
// Register tile 4 × 8: 4 rows of A (broadcast from A, which is not repacked) × 2 ymm of B = 8 byte accumulators.
// B panel layout, packing, threads and work split: bgemm_driver.h with panels of 8 columns (word k, column j of
// panel p → slot[k·8 + j]) and work items of (panel, 64-row block), as in the AVX-512 variant.
//
// Output transforms are scalar per element on the 4×8 int64 dots (this fallback is popcount-bound): dot = K −
// 2·pop − correction, then i32 / f32 (bgemm_affine: multiply and add rounded separately) / bits, the bits of a
// 64-row block collected per column in a register word and stored once with flip and tail applied.
#include <immintrin.h>

#include "kernels/bgemm/bgemm_driver.h"

namespace lowbit::kernels {

namespace {

constexpr size_t kNR = 8;   // panel width: 2 ymm × 4 columns
constexpr int kMR = 4;      // rows per register tile
constexpr size_t kMB = 64;  // rows per work item
constexpr size_t kChunk = 31;  // words summed in 8-bit lanes before widening

inline __m256i popcount_bytes(__m256i x, __m256i lut, __m256i low) {
  const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
  const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
  return _mm256_add_epi8(lo, hi);
}

// pops[i][j·4 + l] = popcount(A_{m0+i} ⊕ B_{panel column 4j + l}) over kw words.
template <int MR>
inline void micro_tile(const bword* a, size_t lda, const bword* bp, size_t kw, int64_t (&pops)[kMR][kNR]) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                       2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0F), zero = _mm256_setzero_si256();
  __m256i wide[MR][2];
  for (int i = 0; i < MR; ++i) wide[i][0] = wide[i][1] = zero;
  const bword* a_row[MR];
  for (int i = 0; i < MR; ++i) a_row[i] = a + static_cast<size_t>(i) * lda;
  for (size_t k0 = 0; k0 < kw; k0 += kChunk) {
    const size_t k1 = k0 + kChunk < kw ? k0 + kChunk : kw;
    __m256i bytes[MR][2];
    for (int i = 0; i < MR; ++i) bytes[i][0] = bytes[i][1] = zero;
    for (size_t k = k0; k < k1; ++k) {
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + k * kNR));
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + k * kNR + 4));
      for (int i = 0; i < MR; ++i) {
        const __m256i av = _mm256_set1_epi64x(static_cast<long long>(a_row[i][k]));
        bytes[i][0] = _mm256_add_epi8(bytes[i][0], popcount_bytes(_mm256_xor_si256(av, b0), lut, low));
        bytes[i][1] = _mm256_add_epi8(bytes[i][1], popcount_bytes(_mm256_xor_si256(av, b1), lut, low));
      }
    }
    for (int i = 0; i < MR; ++i) {
      wide[i][0] = _mm256_add_epi64(wide[i][0], _mm256_sad_epu8(bytes[i][0], zero));
      wide[i][1] = _mm256_add_epi64(wide[i][1], _mm256_sad_epu8(bytes[i][1], zero));
    }
  }
  for (int i = 0; i < MR; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(&pops[i][0]), wide[i][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(&pops[i][4]), wide[i][1]);
  }
}

inline int64_t dot_of(const BgemmOperands& op, int64_t pop, size_t m, size_t n) {
  int64_t dot = static_cast<int64_t>(op.K) - 2 * pop;
  if (op.col_class && op.col_class[n] != 0) dot -= op.class_corr[static_cast<size_t>(op.col_class[n]) * op.M + m];
  return dot;
}

struct EpiI32 {
  const BgemmOutI32& out;
  void put(size_t m, size_t n, int64_t dot) { out.C[m * out.cs_m + n * out.cs_n] = static_cast<int32_t>(dot); }
};

struct EpiF32 {
  const BgemmOutF32& out;
  void put(size_t m, size_t n, int64_t dot) {
    out.C[m * out.cs_m + n * out.cs_n] =
        bgemm_affine(out.scale ? out.scale[m] : 1.0f, dot, out.bias ? out.bias[m] : 0.0f);
  }
};

struct EpiBits {
  const BgemmOutBits& out;
  size_t m_block0;
  bword cols[kNR] = {};
  void put(size_t m, size_t n, int64_t dot) {
    const bword bit = dot < out.threshold[m] ? 1u : 0u;
    cols[n % kNR] |= bit << (m - m_block0);
  }
  void finish(const BgemmOperands& op, size_t panel_n0) {
    const size_t word = m_block0 / kBitsPerWord;
    const size_t rows = op.M - m_block0 < kMB ? op.M - m_block0 : kMB;
    const bword keep = rows == kMB ? ~bword{0} : ((bword{1} << rows) - 1);
    const bword flip = out.flip ? out.flip[word] : 0;
    for (size_t j = 0; j < kNR && panel_n0 + j < op.N; ++j)
      out.C[(panel_n0 + j) * out.ldc + word] = (cols[j] ^ flip) & keep;
  }
};

template <int MR, class Epi>
inline void tile(const BgemmOperands& op, const bword* bp, size_t m0, size_t panel_n0, Epi& epi) {
  int64_t pops[kMR][kNR];
  micro_tile<MR>(op.A + m0 * op.lda, op.lda, bp, op.kw, pops);
  const size_t cols = op.N - panel_n0 < kNR ? op.N - panel_n0 : kNR;
  for (int i = 0; i < MR; ++i)
    for (size_t j = 0; j < cols; ++j) {
      const size_t m = m0 + static_cast<size_t>(i), n = panel_n0 + j;
      epi.put(m, n, dot_of(op, pops[i][j], m, n));
    }
}

template <class Epi>
void item(const BgemmOperands& op, const bword* panel, size_t p, size_t m_block0, Epi& epi) {
  const bword* bp = panel;
  const size_t m_end = m_block0 + kMB < op.M ? m_block0 + kMB : op.M;
  for (size_t m0 = m_block0; m0 < m_end; m0 += kMR) {
    switch (m_end - m0 < static_cast<size_t>(kMR) ? m_end - m0 : kMR) {
      case 4: tile<4>(op, bp, m0, p * kNR, epi); break;
      case 3: tile<3>(op, bp, m0, p * kNR, epi); break;
      case 2: tile<2>(op, bp, m0, p * kNR, epi); break;
      default: tile<1>(op, bp, m0, p * kNR, epi); break;
    }
  }
}

void bgemm_b1b1_i32_avx2(const BgemmOperands& op, const BgemmOutI32& out, bword* scratch, int threads) {
  drive_items<kNR, kMB>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiI32 epi{out};
    item(op, panel, p, m_block0, epi);
  });
}

void bgemm_b1b1_f32_avx2(const BgemmOperands& op, const BgemmOutF32& out, bword* scratch, int threads) {
  drive_items<kNR, kMB>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiF32 epi{out};
    item(op, panel, p, m_block0, epi);
  });
}

void bgemm_b1b1_bits_avx2(const BgemmOperands& op, const BgemmOutBits& out, bword* scratch, int threads) {
  LOWBIT_KASSERT(out.threshold && out.ldc >= packed_words(op.M));
  drive_items<kNR, kMB>(op, scratch, threads, [&](const bword* panel, size_t p, size_t m_block0) {
    EpiBits epi{out, m_block0};
    item(op, panel, p, m_block0, epi);
    epi.finish(op, p * kNR);
  });
}

}  // namespace

extern const BgemmKernels kBgemmAvx2;
const BgemmKernels kBgemmAvx2 = {bgemm_b1b1_i32_avx2, bgemm_b1b1_f32_avx2, bgemm_b1b1_bits_avx2,
                                 driver_scratch_words<kNR>};

}  // namespace lowbit::kernels
