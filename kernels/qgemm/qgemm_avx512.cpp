// qgemm with AVX-512 VNNI (vpdpbusd): int2 / int4 / int8 weights × u8 (zero point) or s8 activations.
//
// Layout and algebra are in kernels/qgemm/qgemm.h. One 64-byte block of a 16-row panel holds, per lane l (row),
// the codes of L consecutive k (L = 16 / 8 / 4 for i2 / i4 / i8), 4 per 4-k group g; unpacking group q of the
// block is
//   i2: (P >> 2q) & 0x03     i4: (P >> 4q) & 0x0F     i8: P
// (16-bit shifts; the `and` removes bits that crossed a byte boundary). The unpacked zmm U has, in lane l, the 4
// codes u[l][4g..4g+3], which is exactly a vpdpbusd operand; the activation side is the 4 bytes x[n][4g..4g+3]
// broadcast to all 16 lanes (32-bit broadcast load straight from the activation row: no activation repacking):
//   u8 activations:  acc[l] += Σ_t x[4g+t] (u8) · u[l][4g+t] (s8, u ≤ 15 or raw s8 weights)
//   s8 activations:  acc[l] += Σ_t u[l][4g+t] (u8) · x[4g+t] (s8)
// Epilogue: C = acc − off·xsum[n] − x_zero·wsum[m] (exact int32), optional scale/bias, transposed into C[m][n].
//
// Register tile: MR panels (16·MR output channels) × NR activation columns; each unpacked U is reused NR times
// and each broadcast MR times, so the unpack (1–2 ops per U) is amortised and the loop is dpbusd-bound:
// MR×NR = 2×12 for GEMM (24 accumulators), 4×{1,2,4} for GEMV-like shapes where the weight stream dominates
// (software prefetch a few blocks ahead on each of the MR panel streams). Column tails reuse the next wider
// tile with duplicated column pointers whose results are discarded; rows past M are zero codes and not stored.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

#include "kernels/qgemm/qgemm_driver.h"

namespace lowbit::kernels {
namespace {

using qgemm_detail::Epilogue;

template <QWeight WT>
constexpr int groups_per_block() {
  return WT == QWeight::i2 ? 4 : (WT == QWeight::i4 ? 2 : 1);
}

template <QWeight WT, int Q>
inline __m512i unpack(__m512i p) {
  if constexpr (WT == QWeight::i8) {
    return p;
  } else if constexpr (WT == QWeight::i4) {
    const __m512i m = _mm512_set1_epi8(0x0F);
    return Q == 0 ? _mm512_and_si512(p, m) : _mm512_and_si512(_mm512_srli_epi16(p, 4), m);
  } else {
    const __m512i m = _mm512_set1_epi8(0x03);
    return Q == 0 ? _mm512_and_si512(p, m) : _mm512_and_si512(_mm512_srli_epi16(p, 2 * Q), m);
  }
}

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Σ_k x[k] over exactly K bytes (masked tail load): vpsadbw against zero sums 8 bytes per 64-bit lane; s8 rows
// are biased by XOR 0x80 (x + 128) and the bias removed at the end.
inline int32_t row_sum(const uint8_t* x, size_t K, bool s8) {
  const __m512i flip = s8 ? _mm512_set1_epi8(char(0x80)) : _mm512_setzero_si512();
  __m512i acc = _mm512_setzero_si512();
  size_t k = 0;
  for (; k + 64 <= K; k += 64)
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512(x + k), flip), _mm512_setzero_si512()));
  if (k < K) {
    const __mmask64 live = (__mmask64{1} << (K - k)) - 1;
    const __m512i v = _mm512_maskz_mov_epi8(live, _mm512_xor_si512(_mm512_maskz_loadu_epi8(live, x + k), flip));
    acc = _mm512_add_epi64(acc, _mm512_sad_epu8(v, _mm512_setzero_si512()));
  }
  alignas(64) int64_t lanes[8];
  _mm512_store_si512(lanes, acc);
  int64_t total = 0;
  for (int64_t v : lanes) total += v;
  return static_cast<int32_t>(total - (s8 ? int64_t(128) * int64_t(K) : 0));
}

// Computes one MR×NR tile over all K and writes rows [16·p0, min(16·(p0+MR), M)) × columns [n0, n0+ncols).
template <QWeight WT, bool S8, int MR, int NR, bool PREFETCH, class Out>
void tile(const QgemmWeights& w, size_t panel_bytes, size_t p0, const uint8_t* const* xr, size_t n0, size_t ncols,
          const int32_t* xsum, const Epilogue& e, Out* c, size_t ldc) {
  constexpr int G = groups_per_block<WT>();
  const size_t blocks = panel_bytes / 64;
  __m512i acc[MR][NR];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_si512();
  const uint8_t* pp[MR];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) pp[i] = w.data + (p0 + i) * panel_bytes;

  auto group = [&](const __m512i(&p)[MR], size_t g, auto qtag) {
    constexpr int Q = decltype(qtag)::value;
    __m512i u[MR];
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) u[i] = unpack<WT, Q>(p[i]);
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      __m512i x = bcast4(xr[j] + 4 * g);
      // Keep the broadcast in a register: otherwise GCC folds it into every s8-side vpdpbusd as a {1to16}
      // memory operand, doubling the loads per group (MR loads instead of one).
      if constexpr (S8 && MR > 1) __asm__("" : "+v"(x));
      #pragma GCC unroll 16
      for (int i = 0; i < MR; ++i)
        acc[i][j] = S8 ? _mm512_dpbusd_epi32(acc[i][j], u[i], x) : _mm512_dpbusd_epi32(acc[i][j], x, u[i]);
    }
  };
  for (size_t b = 0; b < blocks; ++b) {
    __m512i p[MR];
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      if constexpr (PREFETCH) _mm_prefetch(reinterpret_cast<const char*>(pp[i] + 64 * (b + 24)), _MM_HINT_T0);
      p[i] = _mm512_load_si512(pp[i] + 64 * b);
    }
    const size_t g0 = b * G;
    group(p, g0, std::integral_constant<int, 0>{});
    if constexpr (G > 1) group(p, g0 + 1, std::integral_constant<int, 1>{});
    if constexpr (G > 2) {
      group(p, g0 + 2, std::integral_constant<int, 2>{});
      group(p, g0 + 3, std::integral_constant<int, 3>{});
    }
  }

  // Epilogue: int32 correction, then transpose 16 rows × ncols into C.
  alignas(64) Out buf[NR][16];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const size_t m0 = (p0 + i) * 16;
    if (m0 >= w.M) break;
    const size_t rows = w.M - m0 < 16 ? w.M - m0 : 16;
    const __m512i zw = _mm512_mullo_epi32(_mm512_set1_epi32(e.zp), _mm512_loadu_si512(e.wsum + m0));
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      const __m512i v = _mm512_sub_epi32(_mm512_sub_epi32(acc[i][j], _mm512_set1_epi32(e.off * xsum[j])), zw);
      if constexpr (std::is_same_v<Out, int32_t>) {
        _mm512_store_si512(buf[j], v);
      } else {
        const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1);
        const __m512 s = _mm512_maskz_loadu_ps(live, e.scale + m0);
        const __m512 bb = e.bias ? _mm512_maskz_loadu_ps(live, e.bias + m0) : _mm512_setzero_ps();
        _mm512_store_ps(reinterpret_cast<float*>(buf[j]), _mm512_add_ps(_mm512_mul_ps(s, _mm512_maskz_cvtepi32_ps(0xFFFF, v)  /* maskz: avoids GCC 12 -Wmaybe-uninitialized */), bb));
      }
    }
    if (ncols == 1 && ldc == 1) {
      std::memcpy(c + m0, buf[0], rows * sizeof(Out));
    } else {
      for (size_t r = 0; r < rows; ++r)
        for (size_t j = 0; j < ncols; ++j) c[(m0 + r) * ldc + n0 + j] = buf[j][r];
    }
  }
}

template <QWeight WT, bool S8, int MR, int NR, bool PREFETCH, class Out>
void run_tiles(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, const Epilogue& e, Out* c, size_t ldc,
               int threads) {
  const size_t panel_bytes = qgemm_packed_bytes(WT, w.M, w.K) / qgemm_panels(w.M);
  qgemm_detail::for_each_tile<MR, NR>(
      w, panel_bytes, N, x, ldx, threads, [&](const uint8_t* xr) { return row_sum(xr, w.K, S8); },
      [&](auto rows, size_t p, const uint8_t* const* xr, size_t n0, size_t ncols, const int32_t* xsum) {
        tile<WT, S8, decltype(rows)::value, NR, PREFETCH>(w, panel_bytes, p, xr, n0, ncols, xsum, e, c, ldc);
      });
}

// The driver policy (kernels/qgemm/qgemm_driver.h): the register tile for this N (see the top of the file).
struct Avx512Vnni {
  template <QWeight WT, bool S8, class Out>
  static void run(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, const Epilogue& e, Out* c,
                  size_t ldc, int threads) {
    if (N == 1) return run_tiles<WT, S8, 4, 1, true>(w, N, x, ldx, e, c, ldc, threads);
    if (N == 2) return run_tiles<WT, S8, 4, 2, true>(w, N, x, ldx, e, c, ldc, threads);
    if (N <= 4) return run_tiles<WT, S8, 4, 4, false>(w, N, x, ldx, e, c, ldc, threads);
    if (N <= 8) return run_tiles<WT, S8, 2, 8, false>(w, N, x, ldx, e, c, ldc, threads);
    run_tiles<WT, S8, 2, 12, false>(w, N, x, ldx, e, c, ldc, threads);
  }
};

}  // namespace

extern const QgemmKernels kQgemmAvx512 = qgemm_detail::kernels_table<Avx512Vnni>();

}  // namespace lowbit::kernels
