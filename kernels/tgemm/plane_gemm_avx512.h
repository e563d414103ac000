// Shared AVX-512 driver for the bit-plane GEMM families (tgemm, bitserial). Private to kernels/; included only
// by *_avx512.cpp files (it needs AVX-512F/BW/VL/VPOPCNTDQ).
//
// Vectorise over N (like bgemm): a zmm holds word k of 8 activation columns (one 64-bit lane per column), so a
// weight word is broadcast straight from memory (`{1to8}` operand, no shuffle) and every logic op + vpopcntq +
// vpaddq handles 8 output columns × 64 k at once. Activation rows are canonical (column n's plane q at
// x[q] + n·ldx), so each work item first gathers a panel for its column block: panel[k][q][v] = word k of plane q
// of columns n0 + 8v .. n0 + 8v + 7 (masked gather, absent columns read as 0), in K chunks of kChunkWords words so
// the panel stays in L1/L2 on the stack (no allocation). The panel is then reused by every row tile of the item.
//
// A family supplies an Op with
//   WP, XP          planes per weight row / activation row
//   NACC            accumulators per (row, vector) pair
//   MR, NV          register tile: MR weight rows × NV vectors (8·NV columns)
//   step(acc, w, k, xk)   add the popcounts of word k: w[r][p] = row r's plane p pointer, xk = &panel[k][0][0]
//   partial(acc)    int64 lanes: this chunk's contribution to the linear integer result
// and the driver writes, for output (m, n): I = Σ_chunks partial + row_base[m] + col_base[n], then
// C = I (int32 out) or C = scale[m]·float(I) + bias[m] (float out). Between chunks the running sum lives in C
// itself (its 4 bytes reinterpreted as int32 for float outputs) — only the last chunk converts.
// Results do not depend on the thread split (each output is produced by the same chunk sequence).
#pragma once
// (Masked "maskz" forms of a few intrinsics below avoid GCC 12's -Wmaybe-uninitialized false positive on the
// unmasked ones, which expand through _mm*_undefined_*().)
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/omp.h"
#include "kernels/packing.h"
#include "kernels/tgemm/plane_gemm_args.h"

namespace lowbit::kernels::plane_gemm {

inline constexpr size_t kChunkWords = 64;  // 4096 bits of K per panel chunk


template <class Op>
inline void gather_panel(const Args& a, size_t n0, size_t k0, size_t kw, __m512i* panel) {
  const size_t live = a.N - n0;
  #pragma GCC unroll 16
  for (int v = 0; v < Op::NV; ++v) {
    const size_t c0 = size_t(v) * 8;
    const __mmask8 m = c0 >= live ? 0 : (live - c0 >= 8 ? 0xFF : static_cast<__mmask8>((1u << (live - c0)) - 1));
    const __m512i idx = _mm512_mullo_epi64(_mm512_add_epi64(_mm512_set1_epi64(int64_t(n0 + c0)),
                                                            _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7)),
                                           _mm512_set1_epi64(int64_t(a.ldx)));
    #pragma GCC unroll 16
    for (int q = 0; q < Op::XP; ++q) {
      const bword* base = a.xplanes[q] + k0;
      for (size_t k = 0; k < kw; ++k)
        panel[(k * Op::XP + q) * Op::NV + v] =
            m ? _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), m, idx, base + k, 8) : _mm512_setzero_si512();
    }
  }
}

template <class Op, int MR, class Out>
inline void tile(const Args& a, size_t m0, size_t n0, size_t k0, size_t kw, bool first, bool last,
                 const __m512i* panel, Out* c, size_t ldc) {
  __m512i acc[MR][Op::NV][Op::NACC];
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 16
    for (int v = 0; v < Op::NV; ++v)
      #pragma GCC unroll 16
      for (int s = 0; s < Op::NACC; ++s) acc[r][v][s] = _mm512_setzero_si512();
  const bword* w[MR][Op::WP];
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 16
    for (int p = 0; p < Op::WP; ++p) w[r][p] = a.wplanes[p] + (m0 + r) * a.ldw + k0;
  for (size_t k = 0; k < kw; ++k) Op::template step<MR>(acc, w, k, panel + k * Op::XP * Op::NV);

  const size_t live = a.N - n0;
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    const size_t m = m0 + r;
    Out* crow = c + m * ldc + n0;
    #pragma GCC unroll 16
    for (int v = 0; v < Op::NV; ++v) {
      const size_t c0 = size_t(v) * 8;
      if (c0 >= live) break;
      const __mmask8 cm = live - c0 >= 8 ? 0xFF : static_cast<__mmask8>((1u << (live - c0)) - 1);
      __m256i sum = _mm512_maskz_cvtepi64_epi32(0xFF, Op::partial(acc[r][v]));
      int32_t* ci = reinterpret_cast<int32_t*>(crow + c0);
      if (!first) sum = _mm256_add_epi32(sum, _mm256_maskz_loadu_epi32(cm, ci));
      if (last) {
        if (a.row_base) sum = _mm256_add_epi32(sum, _mm256_set1_epi32(a.row_base[m]));
        if (a.col_base) sum = _mm256_add_epi32(sum, _mm256_maskz_loadu_epi32(cm, a.col_base + n0 + c0));
        if constexpr (std::is_same_v<Out, float>) {
          const __m256 f = _mm256_mul_ps(_mm256_set1_ps(a.scale[m] * a.scale_mul), _mm256_cvtepi32_ps(sum));
          _mm256_mask_storeu_ps(crow + c0, cm, _mm256_add_ps(f, _mm256_set1_ps(a.bias ? a.bias[m] : 0.0f)));
          continue;
        }
      }
      _mm256_mask_storeu_epi32(ci, cm, sum);
    }
  }
}

template <class Op, class Out>
void run(const Args& a, Out* c, size_t ldc, int threads) {
  static_assert(sizeof(Out) == 4, "outputs are int32 or float");
  const size_t words = packed_words(a.K);
  const size_t nb = size_t(Op::NV) * 8;
  const size_t nblocks = (a.N + nb - 1) / nb;
  const size_t rgroups = (a.M + Op::MR - 1) / Op::MR;
  const size_t want = size_t(threads) * 4;
  size_t msplit = nblocks >= want ? 1 : (want + nblocks - 1) / nblocks;
  if (msplit > rgroups) msplit = rgroups;
  const long items = long(msplit * nblocks);
  const bool par = threads > 1 && a.M * a.N * words >= kParallelMinWords;
  (void)par;
  LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if(par))
  for (long it = 0; it < items; ++it) {
    const size_t part = size_t(it) / nblocks, n0 = (size_t(it) % nblocks) * nb;
    size_t m0 = rgroups * part / msplit * Op::MR, m1 = rgroups * (part + 1) / msplit * Op::MR;
    if (m1 > a.M) m1 = a.M;
    alignas(64) __m512i panel[kChunkWords * Op::XP * Op::NV];
    for (size_t k0 = 0; k0 < words; k0 += kChunkWords) {
      const size_t kw = words - k0 < kChunkWords ? words - k0 : kChunkWords;
      gather_panel<Op>(a, n0, k0, kw, panel);
      const bool first = k0 == 0, last = k0 + kw == words;
      size_t m = m0;
      for (; m + Op::MR <= m1; m += Op::MR) tile<Op, Op::MR>(a, m, n0, k0, kw, first, last, panel, c, ldc);
      for (; m < m1; ++m) tile<Op, 1>(a, m, n0, k0, kw, first, last, panel, c, ldc);
    }
  }
}

inline __m512i bcast(const bword* p) { return _mm512_set1_epi64(static_cast<long long>(*p)); }

// run() as a type, for the families' entry-point templates (kernels/tgemm/tgemm_driver.h,
// kernels/bitserial/bitserial_driver.h).
struct Driver {
  template <class Op, class Out>
  static void run(const Args& a, Out* c, size_t ldc, int threads) {
    plane_gemm::run<Op>(a, c, ldc, threads);
  }
};

}  // namespace lowbit::kernels::plane_gemm
