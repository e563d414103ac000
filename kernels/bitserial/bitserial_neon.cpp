// AArch64 NEON bitserial (kernels/bitserial/bitserial.h), bit-identical to bitserial_ref.cpp.
//
// Math (bitserial.h): D[m][n] = Σ_i Σ_j 2^(i+j) · popcount(w_i ∧ x_j) over whole words (plane tails are 0), with
// w_i plane i of weight row m (at w + m·ldw + i·words) and x_j plane j of activation row n.
// Each plane pair is one binary AND-popcount GEMM tile (neon::popcount_tile, kernels/neon_util.h):
//   vandq_u64 → vcntq_u8 → vpadalq_u8, on a 4 × 4 register tile (16 uint16x8 accumulators, 8 loaded vectors);
// the tile's counts are shifted by i + j and added into int32 D before the next plane pair, so the planes of a
// 4 × 4 output tile are visited wbits·xbits times while they are hot in L1 and D never leaves registers/stack.
// (A fused multi-plane tile would need wbits·xbits accumulators per output: too many registers beyond 2 × 2.)
// Epilogues are the shared inline ones of bitserial.h: S = bitserial_dorefa_s(D, wbits, x_sum[n]) and
// C = float(S)·(scale[m]·inv) + bias[m] — same operations, same order, no fmadd (-ffp-contract=off in the
// toolchain), so the floats match the reference bit for bit. Threads split the activation-row tiles.
#include <arm_neon.h>

#include "kernels/bitserial/bitserial.h"
#include "kernels/kassert.h"
#include "kernels/neon_util.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

struct AndPopcount {
  static constexpr int kA = 1, kB = 1, kCounts = 1;
  static void step(const uint64x2_t* a, const uint64x2_t* b, uint16x8_t* acc) {
    acc[0] = vpadalq_u8(acc[0], vcntq_u8(vreinterpretq_u8_u64(vandq_u64(a[0], b[0]))));
  }
};

inline void check(size_t M, size_t N, size_t K, int wbits, size_t ldw, int xbits, size_t ldx, size_t ldc) {
  const size_t words = packed_words(K);
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && wbits >= 1 && wbits <= kBitserialMaxBits && xbits >= 1 &&
                 xbits <= kBitserialMaxBits && ldw >= size_t(wbits) * words && ldx >= size_t(xbits) * words &&
                 ldc >= N);
  (void)M, (void)N, (void)words, (void)ldw, (void)ldx, (void)ldc, (void)wbits, (void)xbits;
}

// out(m, n, D) for every output.
template <class Out>
void bitserial_dots(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
                    size_t ldx, int threads, const Out& out) {
  constexpr int MR = 4, NR = 4;
  const size_t words = packed_words(K);
  const long n_tiles = static_cast<long>((N + NR - 1) / NR);
  const int nt = neon::useful_threads(threads, n_tiles, M * N * words * size_t(wbits * xbits));
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1))
  for (long t = 0; t < n_tiles; ++t) {
    const size_t n0 = static_cast<size_t>(t) * NR, nr = N - n0 < size_t(NR) ? N - n0 : size_t(NR);
    for (size_t m0 = 0; m0 < M; m0 += MR) {
      const size_t mr = M - m0 < size_t(MR) ? M - m0 : size_t(MR);
      int32_t d[MR][NR] = {};
      for (int i = 0; i < wbits; ++i) {
        const bword* ap[MR][1];
        for (int r = 0; r < MR; ++r) ap[r][0] = w + (m0 + (size_t(r) < mr ? r : mr - 1)) * ldw + size_t(i) * words;
        for (int j = 0; j < xbits; ++j) {
          const bword* bp[NR][1];
          for (int r = 0; r < NR; ++r)
            bp[r][0] = x + (n0 + (size_t(r) < nr ? r : nr - 1)) * ldx + size_t(j) * words;
          uint32_t cnt[MR][NR][1];
          neon::popcount_tile<AndPopcount, MR, NR>(ap, bp, words, cnt);
          for (int r = 0; r < MR; ++r)
            for (int s = 0; s < NR; ++s) d[r][s] += static_cast<int32_t>(cnt[r][s][0]) << (i + j);
        }
      }
      for (size_t r = 0; r < mr; ++r)
        for (size_t s = 0; s < nr; ++s) out(m0 + r, n0 + s, d[r][s]);
    }
  }
}

}  // namespace

void bitserial_i32_neon(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                        const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  bitserial_dots(M, N, K, wbits, w, ldw, xbits, x, ldx, threads,
                 [&](size_t m, size_t n, int32_t d) { c[m * ldc + n] = d; });
}

void bitserial_dorefa_i32_neon(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                               const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc,
                               int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  bitserial_dots(M, N, K, wbits, w, ldw, xbits, x, ldx, threads, [&](size_t m, size_t n, int32_t d) {
    c[m * ldc + n] = bitserial_dorefa_s(d, wbits, x_sum[n]);
  });
}

void bitserial_dorefa_f32_neon(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                               const bword* x, size_t ldx, const int32_t* x_sum, const float* scale,
                               const float* bias, float* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  const float inv = bitserial_dorefa_inv(wbits, xbits);
  bitserial_dots(M, N, K, wbits, w, ldw, xbits, x, ldx, threads, [&](size_t m, size_t n, int32_t d) {
    const float sm = scale[m] * inv, bm = bias ? bias[m] : 0.0f;
    c[m * ldc + n] = float(bitserial_dorefa_s(d, wbits, x_sum[n])) * sm + bm;
  });
}

extern const BitserialKernels kBitserialNeon = {bitserial_i32_neon, bitserial_dorefa_i32_neon,
                                                bitserial_dorefa_f32_neon};

}  // namespace lowbit::kernels
