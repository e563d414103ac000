// AVX-512 im2col packers for convolutions with stride 1 or 2 (both directions equal), OW ≥ 8 and KH·KW ≤ 25
// (other layers use the portable packers).
//
// Along one output row oh, unfolded row (c, kh, kw) is the input row ih = oh·s − ph + kh read from columns
// ow·s − pw + kw: a run of stride s, zero where the column falls into the padding or where ih does. Sixteen
// consecutive outputs (one zmm) span at most ceil(16 / OW) + 1 ≤ 3 such runs ("pieces"). A piece is an offset
// into the channel plane plus the lanes it fills; lane L of a piece at offset `off` reads plane[off + s·L]. For
// s = 1 that is one 16-float load; for s = 2 it is the even elements of the 32-float window at off, two loads and
// one two-source permute (vpermt2ps). The pieces depend only on the output positions and (kh, kw), not on the
// channel c, so they are computed once per block of positions and kernel offset and replayed for every channel:
// each 16 outputs then cost one load (two for s = 2) and one register blend per piece and one full store.
//
// Measured on a Zen 5-class core: per-run branching (the portable packer, and a first AVX-512
// version that recomputed runs per vector) is instruction-bound at ~15-20 cycles per 32-float panel row; masked
// *loads* are used only where a plain load would leave the channel plane (first / last rows), and
// masked stores never inside panels. Stride 2 (ResNet stage transitions) went through the portable packer until
// it was 2.7 % of a ResNet-20 training step.
#include <immintrin.h>

#include <algorithm>

#include "engine/ops/conv_geom.h"

namespace lowbit::ops_detail {

namespace {
constexpr int kMaxPieces = 3;  // runs per 16 outputs when OW ≥ 8
constexpr int64_t kMaxKK = 25;  // kernel positions with a stack table (5×5)

inline __mmask16 lane_range(int64_t a, int64_t b) {  // lanes [a, b), 0 ≤ a ≤ b ≤ 16
  return static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
}

struct Pieces {
  int32_t off[kMaxPieces];
  __mmask16 mask[kMaxPieces];
  bool safe[kMaxPieces];  // plane[off .. off + 16·s) lies inside the plane: plain loads are allowed
  int n = 0;
  bool one_safe = false;  // exactly one piece and it is safe (most rows): replayed without the loop
};

bool fast_path(const ConvGeom& g) {
  return ((g.SH == 1 && g.SW == 1) || (g.SH == 2 && g.SW == 2)) && g.OW >= 8 && g.KH * g.KW <= kMaxKK;
}

// ceil(a / b) for b > 0 and any sign of a.
inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Pieces of the n ≤ 16 outputs starting at output (oh, ow), for kernel offset (kh, kw).
Pieces make_pieces(const ConvGeom& g, int64_t kh, int64_t kw, int64_t oh, int64_t ow, int64_t n) {
  Pieces p;
  const int64_t s = g.SW;
  int64_t q = 0;
  while (q < n) {
    const int64_t run = std::min(n - q, g.OW - ow);
    const int64_t ih = oh * g.SH - g.PH + kh;
    if (ih >= 0 && ih < g.H) {
      const int64_t base = ow * s - g.PW + kw;  // input column of the run's first output
      // Lanes t of the run with 0 ≤ base + s·t < W.
      const int64_t lo = std::min(run, std::max<int64_t>(0, ceil_div(-base, s)));
      const int64_t hi = std::max(lo, std::min(run, ceil_div(g.W - base, s)));
      if (lo < hi) {
        const int64_t off = ih * g.W + base - s * q;
        p.off[p.n] = static_cast<int32_t>(off);
        p.mask[p.n] = lane_range(q + lo, q + hi);
        p.safe[p.n] = off >= 0 && off + 16 * s <= g.H * g.W;
        ++p.n;
      }
    }
    q += run;
    ow = 0;
    ++oh;
  }
  p.one_safe = p.n == 1 && p.safe[0];
  return p;
}

// A full load the compiler may not turn into a masked one: GCC folds "load, then blend into zero" into a
// zero-masked load, which measured ~5x slower here inside the training step.
inline __m512 plain_load(const float* p) {
  __m512 v = _mm512_loadu_ps(p);
  asm("" : "+v"(v));
  return v;
}

// Lane L of each piece reads plane[off + S·L].
template <int S>
inline __m512 replay(const float* plane, const Pieces& p) {
  if (S == 1 && p.one_safe) return _mm512_maskz_mov_ps(p.mask[0], plain_load(plane + p.off[0]));
  __m512 v = _mm512_setzero_ps();
  for (int i = 0; i < p.n; ++i) {
    const float* src = plane + p.off[i];
    if (S == 1) {
      v = p.safe[i] ? _mm512_mask_mov_ps(v, p.mask[i], plain_load(src)) : _mm512_mask_loadu_ps(v, p.mask[i], src);
    } else {
      const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
      __m512 lo, hi;
      if (p.safe[i]) {
        lo = plain_load(src);
        hi = plain_load(src + 16);
      } else {
        // Only the even elements under the mask: output lane L is window element 2L.
        const uint32_t need = _pdep_u32(p.mask[i], 0x55555555u);
        lo = _mm512_maskz_loadu_ps(static_cast<__mmask16>(need), src);
        hi = _mm512_maskz_loadu_ps(static_cast<__mmask16>(need >> 16), src + 16);
      }
      v = _mm512_mask_mov_ps(v, p.mask[i], _mm512_permutex2var_ps(lo, even, hi));
    }
  }
  return v;
}

inline void out_pos(const ConvGeom& g, int64_t p, int64_t& oh, int64_t& ow) {
  oh = p / g.OW;
  ow = p % g.OW;
}

// Tables of one 32-wide panel whose first output position is p0 and which holds `cols` positions:
// table[kk][half] for every kernel offset kk and each 16-lane half.
void panel_tables(const ConvGeom& g, int64_t p0, int64_t cols, Pieces (*table)[2]) {
  const int64_t n_lo = std::min<int64_t>(16, cols), n_hi = cols - n_lo;
  int64_t oh_lo, ow_lo, oh_hi = 0, ow_hi = 0;
  out_pos(g, p0, oh_lo, ow_lo);
  if (n_hi > 0) out_pos(g, p0 + 16, oh_hi, ow_hi);
  for (int64_t kk = 0; kk < g.KH * g.KW; ++kk) {
    table[kk][0] = make_pieces(g, kk / g.KW, kk % g.KW, oh_lo, ow_lo, n_lo);
    table[kk][1] = n_hi > 0 ? make_pieces(g, kk / g.KW, kk % g.KW, oh_hi, ow_hi, n_hi) : Pieces{};
  }
}
constexpr int64_t Wp = kSgemmPanelWidth;
static_assert(Wp == 32, "a panel row is two zmm vectors");
}  // namespace

std::vector<unsigned char> im2col_panel_pieces_avx512(const ConvGeom& g) {
  if (!fast_path(g)) return {};
  const int64_t KK = g.KH * g.KW, P = g.P(), npanels = (P + Wp - 1) / Wp;
  std::vector<unsigned char> out(static_cast<size_t>(npanels * KK * 2) * sizeof(Pieces));
  Pieces(*all)[2] = reinterpret_cast<Pieces(*)[2]>(out.data());
  for (int64_t j = 0; j < npanels; ++j) panel_tables(g, j * Wp, std::min(Wp, P - j * Wp), all + j * KK);
  return out;
}

namespace {
template <int S>
void panels_impl(const Im2colPanelCtx* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const ConvGeom& g = *ctx->g;
  const int64_t KK = g.KH * g.KW;
  // The precomputed tables apply to blocks of whole panels (a block may end short only where the positions end);
  // the GEMM drivers only ask for such blocks.
  const bool whole = n0 % Wp == 0 && (nc % Wp == 0 || n0 + nc == g.P());
  const Pieces(*pre)[2] =
      ctx->pieces && whole ? reinterpret_cast<const Pieces(*)[2]>(ctx->pieces) + (n0 / Wp) * KK : nullptr;
  Pieces local[kMaxKK][2];
  // Panel by panel; inside a panel, kernel offset kk outer and channel c inner (unfolded row k = c·KK + kk, the
  // Im2colTables order), so one pair of tables serves a whole run of rows: with a single in-plane piece per half
  // (most rows) the inner loop is two loads, two masked moves and two stores per 32-float row, with the offsets
  // and masks held in registers (looking them up per row was most of this packer's time).
  const int64_t HW = g.H * g.W;
  for (int64_t j = 0; j * Wp < nc; ++j) {
    const Pieces(*table)[2] = pre ? pre + j * KK : local;
    if (!pre) panel_tables(g, n0 + j * Wp, std::min(Wp, nc - j * Wp), local);
    float* d = dst + j * kc * Wp;
    for (int64_t kk = 0; kk < KK; ++kk) {
      const Pieces& t0 = table[kk][0];
      const Pieces& t1 = table[kk][1];
      int64_t c = k0 / KK;
      if (c * KK + kk < k0) ++c;
      const int64_t c_end = (k0 + kc - kk + KK - 1) / KK;  // first c with c·KK + kk ≥ k0 + kc
      if (c >= c_end) continue;
      const float* plane = ctx->x + c * HW;
      float* row = d + (c * KK + kk - k0) * Wp;
      const int64_t row_step = KK * Wp;
      if (S == 1 && t0.one_safe && t1.one_safe) {
        const float* s0 = plane + t0.off[0];
        const float* s1 = plane + t1.off[0];
        const __mmask16 m0 = t0.mask[0], m1 = t1.mask[0];
        for (; c < c_end; ++c, s0 += HW, s1 += HW, row += row_step) {
          _mm512_storeu_ps(row, _mm512_maskz_mov_ps(m0, plain_load(s0)));
          _mm512_storeu_ps(row + 16, _mm512_maskz_mov_ps(m1, plain_load(s1)));
        }
      } else {
        for (; c < c_end; ++c, plane += HW, row += row_step) {
          _mm512_storeu_ps(row, replay<S>(plane, t0));
          _mm512_storeu_ps(row + 16, replay<S>(plane, t1));
        }
      }
    }
  }
}

// Tables of the 16-position chunks of output rows [oh0, oh1): chunk q, kernel offset kk at [q·KK + kk].
void slice_tables(const ConvGeom& g, int64_t oh0, int64_t oh1, Pieces* out) {
  const int64_t Pc = (oh1 - oh0) * g.OW, KK = g.KH * g.KW;
  int64_t oh = oh0, ow = 0;
  for (int64_t p = 0; p < Pc; p += 16) {
    const int64_t n = std::min<int64_t>(16, Pc - p);
    for (int64_t kk = 0; kk < KK; ++kk) out[(p / 16) * KK + kk] = make_pieces(g, kk / g.KW, kk % g.KW, oh, ow, n);
    for (ow += 16; ow >= g.OW; ow -= g.OW) ++oh;
  }
}

template <int S>
void im2col_impl(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col, const Pieces* pre) {
  const int64_t Pc = (oh1 - oh0) * g.OW, KK = g.KH * g.KW, plane = g.H * g.W;
  Pieces local[kMaxKK];
  int64_t oh = oh0, ow = 0;
  for (int64_t p = 0; p < Pc; p += 16) {
    const int64_t n = std::min<int64_t>(16, Pc - p);
    const Pieces* table = pre ? pre + (p / 16) * KK : local;
    if (!pre)
      for (int64_t kk = 0; kk < KK; ++kk) local[kk] = make_pieces(g, kk / g.KW, kk % g.KW, oh, ow, n);
    for (int64_t c = 0; c < g.Cg(); ++c)
      for (int64_t kk = 0; kk < KK; ++kk) {
        float* d = col + (c * KK + kk) * Pc + p;
        const __m512 v = replay<S>(x + c * plane, table[kk]);
        if (n == 16) _mm512_storeu_ps(d, v);
        else _mm512_mask_storeu_ps(d, lane_range(0, n), v);
      }
    for (ow += 16; ow >= g.OW; ow -= g.OW) ++oh;
  }
}
}  // namespace

void im2col_panels_avx512(const void* ctx_, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const Im2colPanelCtx* ctx = static_cast<const Im2colPanelCtx*>(ctx_);
  const ConvGeom& g = *ctx->g;
  if (!fast_path(g)) im2col_panels_ref(ctx_, k0, kc, n0, nc, dst);
  else if (g.SW == 1) panels_impl<1>(ctx, k0, kc, n0, nc, dst);
  else panels_impl<2>(ctx, k0, kc, n0, nc, dst);
}

std::vector<unsigned char> im2col_slice_pieces_avx512(const ConvGeom& g, int64_t oh0, int64_t oh1) {
  if (!fast_path(g) || oh1 <= oh0) return {};
  const int64_t nchunks = ((oh1 - oh0) * g.OW + 15) / 16;
  std::vector<unsigned char> out(static_cast<size_t>(nchunks * g.KH * g.KW) * sizeof(Pieces));
  slice_tables(g, oh0, oh1, reinterpret_cast<Pieces*>(out.data()));
  return out;
}

void im2col_avx512(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col, const void* pieces) {
  const Pieces* pre = static_cast<const Pieces*>(pieces);
  if (!fast_path(g)) im2col_ref(x, g, oh0, oh1, col);
  else if (g.SW == 1) im2col_impl<1>(x, g, oh0, oh1, col, pre);
  else im2col_impl<2>(x, g, oh0, oh1, col, pre);
}

}  // namespace lowbit::ops_detail
