// AArch64 NEON tgemm (kernels/tgemm/tgemm.h), bit-identical to tgemm_ref.cpp.
//
// Math (tgemm.h): with p = popcount over a row's words (tail bits are 0 in every plane),
//   t2 × b1:  dot = nnz(w) − 2·p(m ∧ (s ⊕ a))                   nnz(w) = w_nnz[m], precomputed by the caller
//   t2 × t2:  dot = p(mw ∧ mx) − 2·p(mw ∧ mx ∧ (sw ⊕ sx))
// Inner loop (neon::popcount_gemm, kernels/neon_util.h), per 128 bits of one (W row, X row) pair:
//   t2b1: veorq, vandq, vcntq_u8, vpadalq_u8                       → one uint16x8 accumulator
//   t2t2: vandq (mw∧mx), vcntq+vpadalq (both); veorq, vandq, vcntq+vpadalq (neg)  → two accumulators
// Register tiles: t2b1 4 W rows × 3 X rows (12 accumulators, 8 + 3 loaded vectors); t2t2 2 × 4 (16 accumulators,
// 4 + 8 loaded vectors), both inside the 32 NEON registers. The accumulators are reduced per tile with vaddlvq_u16.
// Float outputs: scale[m]·float(dot) then + bias[m] (or + 0.0f), two roundings like the reference (the cross
// toolchain builds with -ffp-contract=off). Threads split the X-row tiles; every output is written once.
#include <arm_neon.h>

#include "kernels/kassert.h"
#include "kernels/neon_util.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels {

namespace {

struct T2B1 {  // a = {mask, sign} of W, b = {x}
  static constexpr int kA = 2, kB = 1, kCounts = 1;
  static void step(const uint64x2_t* a, const uint64x2_t* b, uint16x8_t* acc) {
    const uint64x2_t neg = vandq_u64(a[0], veorq_u64(a[1], b[0]));
    acc[0] = vpadalq_u8(acc[0], vcntq_u8(vreinterpretq_u8_u64(neg)));
  }
};

struct T2T2 {  // a = {mask, sign} of W, b = {mask, sign} of X; counts = {both nonzero, product negative}
  static constexpr int kA = 2, kB = 2, kCounts = 2;
  static void step(const uint64x2_t* a, const uint64x2_t* b, uint16x8_t* acc) {
    const uint64x2_t both = vandq_u64(a[0], b[0]);
    acc[0] = vpadalq_u8(acc[0], vcntq_u8(vreinterpretq_u8_u64(both)));
    const uint64x2_t neg = vandq_u64(both, veorq_u64(a[1], b[1]));
    acc[1] = vpadalq_u8(acc[1], vcntq_u8(vreinterpretq_u8_u64(neg)));
  }
};

inline void check(size_t M, size_t N, size_t K, size_t ldw, size_t ldx, size_t ldc) {
  const size_t words = packed_words(K);
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= words && ldx >= words && ldc >= N);
  (void)M, (void)N, (void)words, (void)ldw, (void)ldx, (void)ldc;
}

// out(m, n, dot(m, counts of (m, n))) for every output; weights {wmask, wsign}, activations b (Op::kB planes).
template <class Op, int MR, int NR, class Dot, class Out>
void dots(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
          const bword* const (&b)[Op::kB], size_t ldx, int threads, const Dot& dot, const Out& out) {
  const bword* const a[2] = {wmask, wsign};
  neon::popcount_gemm<Op, MR, NR>(
      M, N, packed_words(K), a, ldw, b, ldx, threads,
      [&](size_t m0, size_t n0, size_t mr, size_t nr, const uint32_t (&cnt)[MR][NR][Op::kCounts]) {
        for (size_t i = 0; i < mr; ++i)
          for (size_t j = 0; j < nr; ++j) out(m0 + i, n0 + j, dot(m0 + i, cnt[i][j]));
      });
}

// t2 × b1 in register tiles of 4 W rows × 3 X rows: dot = nnz − 2·neg.
template <class Out>
void t2b1_dots(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
               const int32_t* w_nnz, const bword* x, size_t ldx, int threads, const Out& out) {
  const bword* const b[1] = {x};
  dots<T2B1, 4, 3>(M, N, K, wmask, wsign, ldw, b, ldx, threads,
                   [&](size_t m, const uint32_t (&cnt)[1]) { return w_nnz[m] - 2 * static_cast<int32_t>(cnt[0]); },
                   out);
}

// t2 × t2 in register tiles of 2 W rows × 4 X rows: dot = both − 2·neg.
template <class Out>
void t2t2_dots(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
               const bword* xmask, const bword* xsign, size_t ldx, int threads, const Out& out) {
  const bword* const b[2] = {xmask, xsign};
  dots<T2T2, 2, 4>(M, N, K, wmask, wsign, ldw, b, ldx, threads,
                   [](size_t, const uint32_t (&cnt)[2]) {
                     return static_cast<int32_t>(cnt[0]) - 2 * static_cast<int32_t>(cnt[1]);
                   },
                   out);
}

// The output writers: C = dot (int32) or scale[m]·float(dot) + bias[m] (float, two roundings as the reference).
struct StoreI32 {
  int32_t* c;
  size_t ldc;
  void operator()(size_t m, size_t n, int32_t dot) const { c[m * ldc + n] = dot; }
};
struct StoreF32 {
  const float* scale;
  const float* bias;
  float* c;
  size_t ldc;
  void operator()(size_t m, size_t n, int32_t dot) const {
    c[m * ldc + n] = scale[m] * float(dot) + (bias ? bias[m] : 0.0f);
  }
};

}  // namespace

void tgemm_t2b1_i32_neon(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                         const int32_t* w_nnz, const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, ldw, ldx, ldc);
  t2b1_dots(M, N, K, wmask, wsign, ldw, w_nnz, x, ldx, threads, StoreI32{c, ldc});
}

void tgemm_t2b1_f32_neon(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                         const int32_t* w_nnz, const bword* x, size_t ldx, const float* scale, const float* bias,
                         float* c, size_t ldc, int threads) {
  check(M, N, K, ldw, ldx, ldc);
  LOWBIT_KASSERT(scale);
  t2b1_dots(M, N, K, wmask, wsign, ldw, w_nnz, x, ldx, threads, StoreF32{scale, bias, c, ldc});
}

void tgemm_t2t2_i32_neon(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                         const bword* xmask, const bword* xsign, size_t ldx, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, ldw, ldx, ldc);
  t2t2_dots(M, N, K, wmask, wsign, ldw, xmask, xsign, ldx, threads, StoreI32{c, ldc});
}

void tgemm_t2t2_f32_neon(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                         const bword* xmask, const bword* xsign, size_t ldx, const float* scale, const float* bias,
                         float* c, size_t ldc, int threads) {
  check(M, N, K, ldw, ldx, ldc);
  LOWBIT_KASSERT(scale);
  t2t2_dots(M, N, K, wmask, wsign, ldw, xmask, xsign, ldx, threads, StoreF32{scale, bias, c, ldc});
}

extern const TgemmKernels kTgemmNeon = {tgemm_t2b1_i32_neon, tgemm_t2b1_f32_neon, tgemm_t2t2_i32_neon,
                                        tgemm_t2t2_f32_neon};

}  // namespace lowbit::kernels
