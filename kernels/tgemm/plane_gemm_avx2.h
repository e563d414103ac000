// Shared AVX2 driver for the bit-plane GEMM families (tgemm, bitserial). Private to kernels/; included only by
// *_avx2.cpp files.
//
// AVX2 has no vector popcount, so this variant vectorises over K instead of N: a ymm holds 4 consecutive words
// (256 k) of one row's plane, and popcounts come from the nibble table (vpshufb on the low and high nibble of
// every byte, then vpaddb): per-byte counts are accumulated in uint8 for up to Op::FLUSH steps (before they can
// reach 256) and only then widened with vpsadbw into 64-bit lanes — the usual AVX2 "Harley-Seal-free" scheme
// where the widening is amortised. Register tile: MR rows × NR columns of (row, column) pairs, each pair with
// Op::NACC byte accumulators; the ragged last group of < 4 words is read with vpmaskmovq (zero-filled), and tail
// bits inside a word are zero by the packing convention, so nothing past K contributes.
//
// Op interface: WP, XP planes; NACC; FLUSH; MR, NR;
//   step(accb[NACC], w[WP], x[XP])   add per-byte popcounts of this 256-bit group of one pair
//   partial(const int64_t (&tot)[NACC]) → int64 linear contribution (as in the AVX-512 driver)
// Output: I = partial + row_base[m] + col_base[n]; C = I or scale[m]·scale_mul·float(I) + bias[m].
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/omp.h"
#include "kernels/packing.h"
#include "kernels/tgemm/plane_gemm_args.h"

namespace lowbit::kernels::plane_gemm_avx2 {

using plane_gemm::Args;

inline __m256i popcnt_bytes(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,  //
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nib = _mm256_set1_epi8(0x0F);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(v, nib)),
                         _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib)));
}

inline __m256i load_words(const bword* p, size_t n) {  // n ≤ 4 words, zero-filled
  if (n >= 4) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
  const __m256i live = _mm256_cmpgt_epi64(_mm256_set1_epi64x(int64_t(n)), idx);
  return _mm256_maskload_epi64(reinterpret_cast<const long long*>(p), live);
}

// Zeroes a register tile of accumulators (fully unrolled: the tile lives in registers).
template <int A, int B, int C>
inline void set_zero(__m256i (&v)[A][B][C]) {
  #pragma GCC unroll 16
  for (int a = 0; a < A; ++a)
    #pragma GCC unroll 16
    for (int b = 0; b < B; ++b)
      #pragma GCC unroll 16
      for (int c = 0; c < C; ++c) v[a][b][c] = _mm256_setzero_si256();
}

template <class Op, int MR, int NR, class Out>
inline void tile(const Args& a, size_t m0, size_t n0, Out* c, size_t ldc) {
  const size_t words = packed_words(a.K);
  int64_t tot[MR][NR][Op::NACC] = {};
  __m256i wide[MR][NR][Op::NACC];
  set_zero(wide);
  for (size_t k0 = 0; k0 < words;) {
    __m256i accb[MR][NR][Op::NACC];
    set_zero(accb);
    for (int step = 0; step < Op::FLUSH && k0 < words; ++step, k0 += 4) {
      const size_t n = words - k0;
      __m256i x[NR][Op::XP];
      #pragma GCC unroll 16
      for (int j = 0; j < NR; ++j)
        #pragma GCC unroll 16
        for (int q = 0; q < Op::XP; ++q) x[j][q] = load_words(a.xplanes[q] + (n0 + j) * a.ldx + k0, n);
      #pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        __m256i w[Op::WP];
        #pragma GCC unroll 16
        for (int p = 0; p < Op::WP; ++p) w[p] = load_words(a.wplanes[p] + (m0 + r) * a.ldw + k0, n);
        #pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) Op::step(accb[r][j], w, x[j]);
      }
    }
    #pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      #pragma GCC unroll 16
      for (int j = 0; j < NR; ++j)
        #pragma GCC unroll 16
        for (int s = 0; s < Op::NACC; ++s)
          wide[r][j][s] = _mm256_add_epi64(wide[r][j][s], _mm256_sad_epu8(accb[r][j][s], _mm256_setzero_si256()));
  }
  #pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    const size_t m = m0 + r;
    #pragma GCC unroll 16
    for (int j = 0; j < NR; ++j) {
      #pragma GCC unroll 16
      for (int s = 0; s < Op::NACC; ++s) {
        alignas(32) int64_t l[4];
        _mm256_store_si256(reinterpret_cast<__m256i*>(l), wide[r][j][s]);
        tot[r][j][s] = l[0] + l[1] + l[2] + l[3];
      }
      int64_t v = Op::partial(tot[r][j]);
      if (a.row_base) v += a.row_base[m];
      if (a.col_base) v += a.col_base[n0 + j];
      const int32_t iv = static_cast<int32_t>(v);
      if constexpr (std::is_same_v<Out, float>)
        c[m * ldc + n0 + j] = (a.scale[m] * a.scale_mul) * float(iv) + (a.bias ? a.bias[m] : 0.0f);
      else
        c[m * ldc + n0 + j] = iv;
    }
  }
}

template <class Op, class Out>
void run(const Args& a, Out* c, size_t ldc, int threads) {
  const size_t rgroups = (a.M + Op::MR - 1) / Op::MR;
  const bool par = threads > 1 && a.M * a.N * packed_words(a.K) >= kParallelMinWords;
  (void)par;
  LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if(par))
  for (long g = 0; g < long(rgroups); ++g) {
    const size_t m0 = size_t(g) * Op::MR;
    const bool full_m = m0 + Op::MR <= a.M;
    size_t n = 0;
    for (; n + Op::NR <= a.N; n += Op::NR) {
      if (full_m)
        tile<Op, Op::MR, Op::NR>(a, m0, n, c, ldc);
      else
        for (size_t m = m0; m < a.M; ++m) tile<Op, 1, Op::NR>(a, m, n, c, ldc);
    }
    for (; n < a.N; ++n)
      for (size_t m = m0; m < a.M && m < m0 + Op::MR; ++m) tile<Op, 1, 1>(a, m, n, c, ldc);
  }
}

// run() as a type, for the families' entry-point templates (kernels/tgemm/tgemm_driver.h,
// kernels/bitserial/bitserial_driver.h).
struct Driver {
  template <class Op, class Out>
  static void run(const Args& a, Out* c, size_t ldc, int threads) {
    plane_gemm_avx2::run<Op>(a, c, ldc, threads);
  }
};

}  // namespace lowbit::kernels::plane_gemm_avx2
