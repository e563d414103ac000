// Small AArch64 Advanced SIMD helpers shared by the *_neon.cpp kernel files (include only from those: they are
// compiled for aarch64 only, see cmake/LowbitHelpers.cmake).
//
// movemask64: NEON has no pmovmskb. A byte mask m (0xFF / 0x00 per byte) becomes bits by AND-ing byte i with
//   2^(i mod 8) and then adding neighbours with vpaddq_u8 three times: after the first add each byte holds two
//   weighted inputs, after the second four, after the third eight, i.e. one whole output byte (the weights are
//   distinct powers of two, so the sums never carry). Byte j of the result collects inputs 8j..8j+7, so bit i of
//   the little-endian word is input byte i, as kernels/packing.h wants (element k -> bit k % 64).
// popcount: vcntq_u8 counts bits per byte (0..8); vpadalq_u8 adds neighbouring byte counts into uint16 lanes.
//   A uint16 lane gains at most 16 per vpadalq_u8, so a uint16 accumulator is safe for 4095 steps; kernels
//   reduce it to 32 bits (vaddlvq_u16) at least every kU16Steps steps.
// popcount_tile / popcount_gemm: the register-tiled driver the bit-plane GEMMs (bgemm, tgemm, bitserial) share.
//   An "op" combines, for one (A row, B row) pair, kA planes of A with kB planes of B into kCounts popcounts, 128
//   bits (two words) at a time, with at most one vpadalq_u8 per count and step (that is what makes kU16Steps
//   safe). The tile loads MR A rows and NR B rows once per step and forms all MR·NR pairs, so each load is reused
//   NR (or MR) times; the uint16 accumulators are summed into uint32 after every kU16Steps steps and at the end.
//   An odd last word is loaded as 64 bits with a zero upper half (0 contributes nothing to any popcount), so no
//   byte past a row is read. Tiles at the M / N edges repeat the last valid row instead of branching inside the
//   loop; the epilogue only receives the valid mr × nr corner.
#pragma once
#if !defined(__aarch64__)
#error "kernels/neon_util.h is for aarch64 *_neon.cpp files only"
#endif
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernels/omp.h"
#include "kernels/packing.h"

namespace lowbit::kernels::neon {

inline constexpr int kU16Steps = 4095;  // vpadalq_u8 steps a uint16 popcount accumulator can take

// Bits of 64 bytes given as four 0xFF/0x00 byte masks (bytes 0-15, 16-31, 32-47, 48-63).
inline uint64_t movemask64(uint8x16_t m0, uint8x16_t m1, uint8x16_t m2, uint8x16_t m3) {
  const uint8x16_t w = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t s01 = vpaddq_u8(vandq_u8(m0, w), vandq_u8(m1, w));
  const uint8x16_t s23 = vpaddq_u8(vandq_u8(m2, w), vandq_u8(m3, w));
  const uint8x16_t s = vpaddq_u8(s01, s23);
  return vgetq_lane_u64(vreinterpretq_u64_u8(vpaddq_u8(s, s)), 0);
}

// Sum of all lanes of a uint16 accumulator (exact up to its 8·65535 range).
inline uint32_t hsum_u16(uint16x8_t acc) { return vaddlvq_u16(acc); }

// Two words of a row as a vector; kHalf loads only the first word (upper lane 0).
template <bool kHalf>
inline uint64x2_t load_words(const bword* p) {
  if (kHalf) return vcombine_u64(vld1_u64(p), vdup_n_u64(0));
  return vld1q_u64(p);
}

// Adds `steps` 128-bit steps starting at word w to cnt (steps ≤ kU16Steps; kHalf: one step over the last word).
template <class Op, int MR, int NR, bool kHalf>
inline void popcount_steps(const bword* const (&a)[MR][Op::kA], const bword* const (&b)[NR][Op::kB], size_t w,
                           size_t steps, uint32_t (&cnt)[MR][NR][Op::kCounts]) {
  constexpr int A = Op::kA, B = Op::kB, C = Op::kCounts;
  uint16x8_t acc[MR][NR][C];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      for (int c = 0; c < C; ++c) acc[i][j][c] = vdupq_n_u16(0);
  for (size_t s = 0; s < steps; ++s, w += 2) {
    uint64x2_t av[MR][A], bv[NR][B];
    for (int i = 0; i < MR; ++i)
      for (int p = 0; p < A; ++p) av[i][p] = load_words<kHalf>(a[i][p] + w);
    for (int j = 0; j < NR; ++j)
      for (int q = 0; q < B; ++q) bv[j][q] = load_words<kHalf>(b[j][q] + w);
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) Op::step(av[i], bv[j], acc[i][j]);
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      for (int c = 0; c < C; ++c) cnt[i][j][c] += hsum_u16(acc[i][j][c]);
}

// cnt[i][j][c] = popcount count c over `words` words for A rows a[i][·] and B rows b[j][·] (plane pointers).
template <class Op, int MR, int NR>
inline void popcount_tile(const bword* const (&a)[MR][Op::kA], const bword* const (&b)[NR][Op::kB], size_t words,
                          uint32_t (&cnt)[MR][NR][Op::kCounts]) {
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      for (int c = 0; c < Op::kCounts; ++c) cnt[i][j][c] = 0;
  const size_t pairs = words / 2;
  for (size_t done = 0; done < pairs;) {
    const size_t steps = pairs - done < size_t(kU16Steps) ? pairs - done : size_t(kU16Steps);
    popcount_steps<Op, MR, NR, false>(a, b, 2 * done, steps, cnt);
    done += steps;
  }
  if (words % 2) popcount_steps<Op, MR, NR, true>(a, b, words - 1, 1, cnt);
}

// Calls with fewer (row, column, word) triples than this run on one thread: waking a second thread costs more than
// such a call (the same threshold as the reference tgemm/bitserial kernels). Results never depend on it.
inline constexpr size_t kParallelMinWordOps = size_t(1) << 14;

// Threads worth using: the request (0 = default_threads()), at most one per work item, 1 for tiny calls.
inline int useful_threads(int threads, long items, size_t word_ops) {
  long nt = threads > 0 ? threads : default_threads();
  if (nt > items) nt = items;
  if (word_ops < kParallelMinWordOps) nt = 1;
  return nt < 1 ? 1 : static_cast<int>(nt);
}

// Whole GEMM over M A-rows × N B-rows. Plane p of A row m is a[p] + m·lda (likewise B). Threads split the N
// tiles, so each thread owns whole B rows (whole output rows of a [n][m] layout, e.g. packed bits) and the result
// does not depend on the thread count. epi(m0, n0, mr, nr, cnt) consumes each tile's valid mr × nr corner.
template <class Op, int MR, int NR, class Epilogue>
void popcount_gemm(size_t M, size_t N, size_t words, const bword* const (&a)[Op::kA], size_t lda,
                   const bword* const (&b)[Op::kB], size_t ldb, int threads, const Epilogue& epi) {
  const long n_tiles = static_cast<long>((N + NR - 1) / NR);
  const int nt = useful_threads(threads, n_tiles, M * N * words);
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1))
  for (long t = 0; t < n_tiles; ++t) {
    const size_t n0 = static_cast<size_t>(t) * NR, nr = N - n0 < size_t(NR) ? N - n0 : size_t(NR);
    const bword* bp[NR][Op::kB];
    for (int j = 0; j < NR; ++j) {
      const size_t n = n0 + (size_t(j) < nr ? size_t(j) : nr - 1);
      for (int q = 0; q < Op::kB; ++q) bp[j][q] = b[q] + n * ldb;
    }
    for (size_t m0 = 0; m0 < M; m0 += MR) {
      const size_t mr = M - m0 < size_t(MR) ? M - m0 : size_t(MR);
      const bword* ap[MR][Op::kA];
      for (int i = 0; i < MR; ++i) {
        const size_t m = m0 + (size_t(i) < mr ? size_t(i) : mr - 1);
        for (int p = 0; p < Op::kA; ++p) ap[i][p] = a[p] + m * lda;
      }
      uint32_t cnt[MR][NR][Op::kCounts];
      popcount_tile<Op, MR, NR>(ap, bp, words, cnt);
      epi(m0, n0, mr, nr, cnt);
    }
  }
}

}  // namespace lowbit::kernels::neon
