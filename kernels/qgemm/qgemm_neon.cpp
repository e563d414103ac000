// AArch64 NEON qgemm (kernels/qgemm/qgemm.h): int2 / int4 / int8 weights × uint8 / int8 activations, bit-identical
// to qgemm_ref.cpp. Two inner loops, picked per call from cpu_features().neon_dotprod (getauxval HWCAP_ASIMDDP):
//   sdot   (armv8.2-a+dotprod, e.g. Cortex-A76): vdotq_laneq_s32, 16 int8 MACs per instruction;
//   smull  (any armv8-a, e.g. Cortex-A53): vmull_s8 / vmull_high_s8 + vpadalq_s16, 16 MACs per 4 instructions.
// Only the sdot functions are compiled for armv8.2-a+dotprod (a `#pragma GCC target` region at the end of the
// file, after every shared inline helper is defined), so nothing an A53 cannot execute is reachable without the
// HWCAP check.
//
// Both are signed × signed, so we decode the packed codes u (layout in qgemm.h) back to the signed weight
//   w = u − off   (byte arithmetic mod 256: for i8 with s8 activations u = w + 128, and u − 128 ≡ w)
// and make the activation signed: x' = x for s8, x' = x − 128 = x ⊕ 0x80 (as int8) for u8. Then
//   acc = Σ_k x'·w,   C = acc + (128 − x_zero)·wsum[m]  for u8   (Σ (x − x_zero)·w = Σ (x − 128)·w + (128 − x_zero)·Σ w)
//                     C = acc                            for s8  (x_zero = 0)
// |x'|, |w| ≤ 128 and K ≤ 32768 keep |acc| ≤ 2^29, and |(128 − x_zero)·wsum| ≤ 2^29, so no intermediate overflows;
// products fit int16 (128·128 = 16384) for the smull path.
// K padding: padded codes are u = 0, which decode to w = −off ≠ 0, so the activation bytes of the last superblock
// at k ≥ K are zeroed (x' AND a byte mask) instead; they are read (the header's over-read rule) but never count.
// Layout use: a 16-byte vector of a 64-byte block holds 4 panel rows × 4 consecutive k ("byte 4l + t"), one
// int32x4 lane per row, which is exactly sdot's lane layout: vdotq_laneq_s32(acc, w, x, s) adds, for each row,
// the 4-byte dot of its 4 weights with 4 activation bytes broadcast from 32-bit lane s of x. A block carries
// S = L/4 such sub-vectors per 16 bytes (i8: 1; i4: low / high nibble; i2: the four 2-bit fields), for
// k = L·b + 4s + t.
// Tiles: one 16-row panel × NR activation rows (sdot NR = 4: 16 accumulators; smull NR = 2: 16 accumulators,
// since each 4-row group needs a low and a high accumulator). Threads split panels; outputs are written once.
// Float output: scale[m]·float(C) then + bias (two roundings, as the reference; -ffp-contract=off).
#include <arm_neon.h>

#include <cstring>

#include "kernels/isa.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels {

namespace {

// Signed weights of sub-vector s of a packed 16-byte vector (4 rows × 4 k).
template <QWeight W, int s>
inline int8x16_t decode(uint8x16_t v, uint8x16_t off) {
  uint8x16_t u;
  if constexpr (W == QWeight::i8) {
    u = v;
  } else if constexpr (W == QWeight::i4) {
    if constexpr (s == 0) u = vandq_u8(v, vdupq_n_u8(0xF));
    else u = vshrq_n_u8(v, 4);
  } else {
    if constexpr (s == 0) u = vandq_u8(v, vdupq_n_u8(0x3));
    else u = vandq_u8(vshrq_n_u8(v, 2 * s), vdupq_n_u8(0x3));
  }
  return vreinterpretq_s8_u8(vsubq_u8(u, off));
}

// The L activation bytes of one superblock as x' (bytes L.. of the vector unused), AND `keep`.
template <QWeight W>
inline int8x16_t load_x(const uint8_t* p, uint8x16_t flip, uint8x16_t keep) {
  constexpr size_t L = qgemm_superblock(W);
  uint8x16_t x;
  if constexpr (L == 16) {
    x = vld1q_u8(p);
  } else if constexpr (L == 8) {
    x = vcombine_u8(vld1_u8(p), vdup_n_u8(0));
  } else {
    uint32_t t;
    std::memcpy(&t, p, sizeof t);
    x = vreinterpretq_u8_u32(vdupq_n_u32(t));
  }
  return vreinterpretq_s8_u8(vandq_u8(veorq_u8(x, flip), keep));
}

// 32-bit lane s of x in all four lanes (the 4 activation bytes one sub-vector multiplies).
template <int s>
inline int8x16_t broadcast_group(int8x16_t x) {
  return vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), s));
}

// Everything a panel kernel needs besides the panel and the activation rows.
struct PanelCtx {
  size_t blocks = 0;   // Kpad / L
  uint8x16_t off{};    // code offset per byte
  uint8x16_t flip{};   // 0x80 for u8 activations, 0 for s8
  uint8x16_t tail{};   // byte mask for the last block (0xFF for k < K)
};

// smull path: acc += x'·w for one sub-vector, 4 rows × 2 partial sums each (lo: rows 0,1; hi: rows 2,3).
template <QWeight W, int s, int NR>
inline void smull_sub(uint8x16_t v, const PanelCtx& cx, const int8x16_t (&xv)[NR], int32x4_t (&lo)[NR],
                      int32x4_t (&hi)[NR]) {
  const int8x16_t w = decode<W, s>(v, cx.off);
  for (int j = 0; j < NR; ++j) {
    const int8x16_t xb = broadcast_group<s>(xv[j]);
    lo[j] = vpadalq_s16(lo[j], vmull_s8(vget_low_s8(w), vget_low_s8(xb)));
    hi[j] = vpadalq_s16(hi[j], vmull_high_s8(w, xb));
  }
}

template <QWeight W, int NR>
void panel_smull(const uint8_t* panel, const uint8_t* const (&xr)[NR], const PanelCtx& cx, int32_t (&out)[16][NR]) {
  constexpr size_t L = qgemm_superblock(W);
  int32x4_t lo[4][NR], hi[4][NR];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < NR; ++j) lo[r][j] = hi[r][j] = vdupq_n_s32(0);
  const uint8x16_t all = vdupq_n_u8(0xFF);
  for (size_t b = 0; b < cx.blocks; ++b) {
    const uint8x16_t keep = b + 1 == cx.blocks ? cx.tail : all;
    int8x16_t xv[NR];
    for (int j = 0; j < NR; ++j) xv[j] = load_x<W>(xr[j] + b * L, cx.flip, keep);
    for (int r = 0; r < 4; ++r) {
      const uint8x16_t v = vld1q_u8(panel + b * 64 + 16 * r);
      smull_sub<W, 0, NR>(v, cx, xv, lo[r], hi[r]);
      if constexpr (L >= 8) smull_sub<W, 1, NR>(v, cx, xv, lo[r], hi[r]);
      if constexpr (L >= 16) {
        smull_sub<W, 2, NR>(v, cx, xv, lo[r], hi[r]);
        smull_sub<W, 3, NR>(v, cx, xv, lo[r], hi[r]);
      }
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < NR; ++j) {
      int32_t lanes[4];
      vst1q_s32(lanes, vpaddq_s32(lo[r][j], hi[r][j]));  // (row 0 | row 1) pairs + (row 2 | row 3) pairs
      for (int l = 0; l < 4; ++l) out[4 * r + l][j] = lanes[l];
    }
}

// Shared driver: splits panels over threads, feeds NR activation rows at a time (edge columns repeat the last
// valid row) and hands every valid output to out(m, n, acc).
template <QWeight W, int NR, class Panel, class Out>
void run_panels(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int threads, const Panel& panel_fn,
                const Out& out) {
  constexpr size_t L = qgemm_superblock(W);
  PanelCtx cx;
  cx.blocks = qgemm_padded_k(W, w.K) / L;
  cx.off = vdupq_n_u8(static_cast<uint8_t>(qgemm_code_offset(W, w.xtype)));
  cx.flip = vdupq_n_u8(w.xtype == QAct::u8 ? 0x80 : 0x00);
  alignas(16) uint8_t tail[16] = {};
  const size_t valid = w.K - (cx.blocks - 1) * L;  // 1..L bytes of the last block are real
  for (size_t i = 0; i < valid; ++i) tail[i] = 0xFF;
  cx.tail = vld1q_u8(tail);
  const size_t panel_bytes = cx.blocks * 64;
  const long panels = static_cast<long>(qgemm_panels(w.M));
  int nt = threads > 0 ? threads : default_threads();
  if (w.M * N * w.K < kQgemmParallelMinMacs || panels < 2) nt = 1;  // tiny calls: one thread (qgemm.h)
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1))
  for (long p = 0; p < panels; ++p) {
    const uint8_t* panel = w.data + static_cast<size_t>(p) * panel_bytes;
    const size_t m0 = static_cast<size_t>(p) * kQgemmPanelRows;
    const size_t mr = w.M - m0 < kQgemmPanelRows ? w.M - m0 : kQgemmPanelRows;
    for (size_t n0 = 0; n0 < N; n0 += NR) {
      const size_t nr = N - n0 < size_t(NR) ? N - n0 : size_t(NR);
      const uint8_t* xr[NR];
      for (int j = 0; j < NR; ++j) xr[j] = x + (n0 + (size_t(j) < nr ? size_t(j) : nr - 1)) * ldx;
      int32_t acc[16][NR];
      panel_fn(panel, xr, cx, acc);
      for (size_t i = 0; i < mr; ++i)
        for (size_t j = 0; j < nr; ++j) out(m0 + i, n0 + j, acc[i][j]);
    }
  }
}

// acc → C (int32, wrapping like the reference would on overflow; the header's K bound rules that out).
inline int32_t finish(const QgemmWeights& w, size_t m, int32_t acc, int32_t x_zero) {
  if (w.xtype == QAct::s8) return acc;
  return static_cast<int32_t>(static_cast<uint32_t>(acc) +
                              static_cast<uint32_t>(128 - x_zero) * static_cast<uint32_t>(w.wsum[m]));
}

void check(const QgemmWeights& w, size_t N, size_t ldx, int32_t x_zero, size_t ldc) {
  LOWBIT_KASSERT(w.data && w.wsum && N > 0 && ldx >= w.K && ldc >= N && (w.xtype == QAct::u8 || x_zero == 0));
  (void)w, (void)N, (void)ldx, (void)x_zero, (void)ldc;
}

template <QWeight W, int NR, class Panel>
void i32_with(const Panel& panel, const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero,
              int32_t* c, size_t ldc, int threads) {
  run_panels<W, NR>(w, N, x, ldx, threads, panel,
                    [&](size_t m, size_t n, int32_t acc) { c[m * ldc + n] = finish(w, m, acc, x_zero); });
}

template <QWeight W, int NR, class Panel>
void f32_with(const Panel& panel, const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero,
              const float* scale, const float* bias, float* c, size_t ldc, int threads) {
  run_panels<W, NR>(w, N, x, ldx, threads, panel, [&](size_t m, size_t n, int32_t acc) {
    c[m * ldc + n] = scale[m] * float(finish(w, m, acc, x_zero)) + (bias ? bias[m] : 0.0f);
  });
}

constexpr int kNrSmull = 2, kNrSdot = 4;

// The dot-product panels, compiled for armv8.2-a+dotprod (defined at the end of the file).
void panel_sdot_i2(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]);
void panel_sdot_i4(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]);
void panel_sdot_i8(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]);

template <QWeight W>
constexpr auto sdot_panel() {
  if constexpr (W == QWeight::i2) return &panel_sdot_i2;
  else if constexpr (W == QWeight::i4) return &panel_sdot_i4;
  else return &panel_sdot_i8;
}

template <QWeight W>
void qgemm_i32_neon(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c,
                    size_t ldc, int threads) {
  check(w, N, ldx, x_zero, ldc);
  LOWBIT_KASSERT(w.wtype == W);
  if (cpu_features().neon_dotprod)
    i32_with<W, kNrSdot>(sdot_panel<W>(), w, N, x, ldx, x_zero, c, ldc, threads);
  else
    i32_with<W, kNrSmull>(panel_smull<W, kNrSmull>, w, N, x, ldx, x_zero, c, ldc, threads);
}

template <QWeight W>
void qgemm_f32_neon(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero,
                    const float* scale, const float* bias, float* c, size_t ldc, int threads) {
  check(w, N, ldx, x_zero, ldc);
  LOWBIT_KASSERT(w.wtype == W && scale);
  if (cpu_features().neon_dotprod)
    f32_with<W, kNrSdot>(sdot_panel<W>(), w, N, x, ldx, x_zero, scale, bias, c, ldc, threads);
  else
    f32_with<W, kNrSmull>(panel_smull<W, kNrSmull>, w, N, x, ldx, x_zero, scale, bias, c, ldc, threads);
}

}  // namespace

extern const QgemmKernels kQgemmNeon = {
    {qgemm_i32_neon<QWeight::i2>, qgemm_i32_neon<QWeight::i4>, qgemm_i32_neon<QWeight::i8>},
    {qgemm_f32_neon<QWeight::i2>, qgemm_f32_neon<QWeight::i4>, qgemm_f32_neon<QWeight::i8>}};

// ---- armv8.2-a+dotprod from here on: only the sdot panels, reached only when HWCAP_ASIMDDP is set ----------
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace {

template <QWeight W, int s>
inline void sdot_sub(uint8x16_t v, const PanelCtx& cx, const int8x16_t (&xv)[kNrSdot],
                     int32x4_t (&acc)[kNrSdot]) {
  const int8x16_t w = decode<W, s>(v, cx.off);
  for (int j = 0; j < kNrSdot; ++j) acc[j] = vdotq_laneq_s32(acc[j], w, xv[j], s);
}

template <QWeight W>
inline void panel_sdot(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                       int32_t (&out)[16][kNrSdot]) {
  constexpr size_t L = qgemm_superblock(W);
  int32x4_t acc[4][kNrSdot];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < kNrSdot; ++j) acc[r][j] = vdupq_n_s32(0);
  const uint8x16_t all = vdupq_n_u8(0xFF);
  for (size_t b = 0; b < cx.blocks; ++b) {
    const uint8x16_t keep = b + 1 == cx.blocks ? cx.tail : all;
    int8x16_t xv[kNrSdot];
    for (int j = 0; j < kNrSdot; ++j) xv[j] = load_x<W>(xr[j] + b * L, cx.flip, keep);
    for (int r = 0; r < 4; ++r) {
      const uint8x16_t v = vld1q_u8(panel + b * 64 + 16 * r);
      sdot_sub<W, 0>(v, cx, xv, acc[r]);
      if constexpr (L >= 8) sdot_sub<W, 1>(v, cx, xv, acc[r]);
      if constexpr (L >= 16) {
        sdot_sub<W, 2>(v, cx, xv, acc[r]);
        sdot_sub<W, 3>(v, cx, xv, acc[r]);
      }
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < kNrSdot; ++j) {
      int32_t lanes[4];
      vst1q_s32(lanes, acc[r][j]);
      for (int l = 0; l < 4; ++l) out[4 * r + l][j] = lanes[l];
    }
}

void panel_sdot_i2(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]) {
  panel_sdot<QWeight::i2>(panel, xr, cx, out);
}
void panel_sdot_i4(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]) {
  panel_sdot<QWeight::i4>(panel, xr, cx, out);
}
void panel_sdot_i8(const uint8_t* panel, const uint8_t* const (&xr)[kNrSdot], const PanelCtx& cx,
                   int32_t (&out)[16][kNrSdot]) {
  panel_sdot<QWeight::i8>(panel, xr, cx, out);
}

}  // namespace

#pragma GCC pop_options

}  // namespace lowbit::kernels
