// The runtime's non-layer ops (runtime/ops.h). Plain loops over the arena layouts; OpenMP splits the image × channel
// (or image × pixel) loop on hosts when the work is large enough, and every element is computed by one thread in a
// fixed order, so results do not depend on the thread count.
#include "runtime/ops.h"

#include <cstring>

#include "kernels/omp.h"

namespace lowbit::runtime::ops {
namespace {

using kernels::bword;
constexpr int64_t kParallelWork = 1 << 15;

inline int64_t words(int64_t c) { return (c + 63) / 64; }
inline bool bit_of(const bword* row, int64_t k) { return (row[k / 64] >> (k % 64)) & 1u; }
inline void set_bit(bword* row, int64_t k) { row[k / 64] |= bword{1} << (k % 64); }

// Round half to even for |u| < 2^22 (kernels/fvec: the quantizers' R).
inline float round_half_even(float u) {
  constexpr float kShift = 12582912.0f;  // 1.5·2^23
  return (u + kShift) - kShift;
}
inline float fmin_(float a, float b) { return b < a ? b : a; }  // std::min(a, b)
inline float fmax_(float a, float b) { return a < b ? b : a; }  // std::max(a, b)

inline float activation(float z, LbmAct act, float lo, float hi) {
  switch (act) {
    case LbmAct::relu: return z > 0.0f ? z : 0.0f;
    case LbmAct::clamp: return fmin_(fmax_(z, lo), hi);
    case LbmAct::none: break;
  }
  return z;
}

}  // namespace

void quantize_u8(const float* x, int64_t n, Dims g, const QuantRule& r, uint8_t* y, int threads) {
  const int64_t HW = g.h * g.w;
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * g.c * HW > kParallelWork))
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < g.c; ++c) {
      const float* xs = x + (b * g.c + c) * HW;
      uint8_t* ys = y + b * HW * g.c + c;
      for (int64_t i = 0; i < HW; ++i) {
        const float v = xs[i];
        float code;
        switch (r.kind) {
          case LbmQuantKind::mul_clamp: code = round_half_even(fmin_(fmax_(v * r.m, r.lo), r.hi)) + r.add; break;
          case LbmQuantKind::div_clamp: code = round_half_even(fmin_(fmax_(v / r.m, r.lo), r.hi)) + r.add; break;
          case LbmQuantKind::clamp_mul: code = round_half_even(fmin_(fmax_(v, r.lo), r.hi) * r.m / r.d) + r.add; break;
          default: code = v < 0.0f ? 0.0f : 1.0f; break;
        }
        // Clamped to the codes' range (also NaN → 0): a model's own quantizer never needs it.
        if (!(code > 0.0f)) code = 0.0f;
        if (code > static_cast<float>(r.qmax)) code = static_cast<float>(r.qmax);
        ys[i * g.c] = static_cast<uint8_t>(code);
      }
    }
}

void quantize_b1(const float* x, int64_t n, Dims g, bword* y, int threads) {
  // Blocks of kPix pixels: each word of 64 channels is built in registers from the channels' contiguous rows (a
  // loop the compiler vectorises) and stored once, instead of a read-modify-write per bit.
  constexpr int64_t kPix = 64;
  const int64_t HW = g.h * g.w, cw = words(g.c);
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * g.c * HW > kParallelWork))
  for (int64_t b = 0; b < n; ++b) {
    bword* yb = y + b * HW * cw;
    for (int64_t i0 = 0; i0 < HW; i0 += kPix) {
      const int64_t len = HW - i0 < kPix ? HW - i0 : kPix;
      for (int64_t k = 0; k < cw; ++k) {
        bword acc[kPix] = {};
        const int64_t c1 = g.c < 64 * (k + 1) ? g.c : 64 * (k + 1);
        for (int64_t c = 64 * k; c < c1; ++c) {
          const float* xs = x + (b * g.c + c) * HW + i0;
          const unsigned sh = static_cast<unsigned>(c - 64 * k);
          if (len == kPix) {
            for (int64_t j = 0; j < kPix; ++j) acc[j] |= bword{xs[j] < 0.0f} << sh;
          } else {
            for (int64_t j = 0; j < len; ++j) acc[j] |= bword{xs[j] < 0.0f} << sh;
          }
        }
        for (int64_t j = 0; j < len; ++j) yb[(i0 + j) * cw + k] = acc[j];
      }
    }
  }
}

void maxpool_f32(const float* x, int64_t n, Dims in, Window w, Dims out, float* y, int threads) {
  const int64_t HW = in.h * in.w, P = out.h * out.w;
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * in.c * P * w.kh * w.kw > kParallelWork))
  for (int64_t bc = 0; bc < n * in.c; ++bc) {
    const float* xc = x + bc * HW;
    for (int64_t oh = 0; oh < out.h; ++oh)
      for (int64_t ow = 0; ow < out.w; ++ow) {
        const int64_t ih0 = oh * w.sh - w.ph, iw0 = ow * w.sw - w.pw;
        float m = 0.0f;
        if (ih0 >= 0 && iw0 >= 0 && ih0 + w.kh <= in.h && iw0 + w.kw <= in.w) {
          // The window lies inside the input (every window of an unpadded pool): no bounds tests.
          const float* xw = xc + ih0 * in.w + iw0;
          m = xw[0];
          for (int64_t i = 0; i < w.kh; ++i)
            for (int64_t j = i ? 0 : 1; j < w.kw; ++j) {
              const float v = xw[i * in.w + j];
              m = (v > m || v != v) ? v : m;
            }
        } else {
          bool any = false;
          for (int64_t i = 0; i < w.kh; ++i) {
            const int64_t ih = ih0 + i;
            if (ih < 0 || ih >= in.h) continue;
            for (int64_t j = 0; j < w.kw; ++j) {
              const int64_t iw = iw0 + j;
              if (iw < 0 || iw >= in.w) continue;
              const float v = xc[ih * in.w + iw];
              if (!any || v > m || v != v) m = v, any = true;
            }
          }
        }
        y[bc * P + oh * out.w + ow] = m;
      }
  }
}

void maxpool_u8(const uint8_t* x, int64_t n, Dims in, Window w, Dims out, uint8_t* y, int threads) {
  const int64_t C = in.c;
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * C * out.h * out.w * w.kh * w.kw > kParallelWork))
  for (int64_t bo = 0; bo < n * out.h; ++bo) {
    const int64_t b = bo / out.h, oh = bo % out.h;
    const uint8_t* xb = x + b * in.h * in.w * C;
    for (int64_t ow = 0; ow < out.w; ++ow) {
      uint8_t* yo = y + ((b * out.h + oh) * out.w + ow) * C;
      std::memset(yo, 0, static_cast<size_t>(C));
      for (int64_t i = 0; i < w.kh; ++i) {
        const int64_t ih = oh * w.sh - w.ph + i;
        if (ih < 0 || ih >= in.h) continue;
        for (int64_t j = 0; j < w.kw; ++j) {
          const int64_t iw = ow * w.sw - w.pw + j;
          if (iw < 0 || iw >= in.w) continue;
          const uint8_t* xp = xb + (ih * in.w + iw) * C;
          for (int64_t c = 0; c < C; ++c) yo[c] = xp[c] > yo[c] ? xp[c] : yo[c];
        }
      }
    }
  }
}

void maxpool_b1(const bword* x, int64_t n, Dims in, Window w, Dims out, bword* y, int threads) {
  // max of ±1 is −1 (bit 1) only when every tap is −1: the AND of the bits over the taps inside the input.
  const int64_t cw = words(in.c);
  const bword tail = kernels::tail_mask(static_cast<size_t>(in.c));
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * cw * out.h * out.w * w.kh * w.kw > kParallelWork))
  for (int64_t bo = 0; bo < n * out.h; ++bo) {
    const int64_t b = bo / out.h, oh = bo % out.h;
    const bword* xb = x + b * in.h * in.w * cw;
    for (int64_t ow = 0; ow < out.w; ++ow) {
      bword* yo = y + ((b * out.h + oh) * out.w + ow) * cw;
      for (int64_t k = 0; k < cw; ++k) yo[k] = ~bword{0};
      for (int64_t i = 0; i < w.kh; ++i) {
        const int64_t ih = oh * w.sh - w.ph + i;
        if (ih < 0 || ih >= in.h) continue;
        for (int64_t j = 0; j < w.kw; ++j) {
          const int64_t iw = ow * w.sw - w.pw + j;
          if (iw < 0 || iw >= in.w) continue;
          const bword* xp = xb + (ih * in.w + iw) * cw;
          for (int64_t k = 0; k < cw; ++k) yo[k] &= xp[k];
        }
      }
      yo[cw - 1] &= tail;
    }
  }
}

void avgpool_f32(const float* x, int64_t n, Dims in, Window w, bool count_include_pad, Dims out, float* y,
                 int threads) {
  const int64_t HW = in.h * in.w, P = out.h * out.w;
  const float inv_all = 1.0f / static_cast<float>(w.kh * w.kw);
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * in.c * P * w.kh * w.kw > kParallelWork))
  for (int64_t bc = 0; bc < n * in.c; ++bc) {
    const float* xc = x + bc * HW;
    for (int64_t oh = 0; oh < out.h; ++oh)
      for (int64_t ow = 0; ow < out.w; ++ow) {
        float s = 0.0f;
        int64_t count = 0;
        for (int64_t i = 0; i < w.kh; ++i) {
          const int64_t ih = oh * w.sh - w.ph + i;
          if (ih < 0 || ih >= in.h) continue;
          for (int64_t j = 0; j < w.kw; ++j) {
            const int64_t iw = ow * w.sw - w.pw + j;
            if (iw >= 0 && iw < in.w) s += xc[ih * in.w + iw], ++count;
          }
        }
        const float inv = count_include_pad ? inv_all : 1.0f / static_cast<float>(count);
        y[bc * P + oh * out.w + ow] = s * inv;
      }
  }
}

void global_avgpool_f32(const float* x, int64_t n, Dims in, float* y, int threads) {
  const int64_t HW = in.h * in.w;
  const float inv = 1.0f / static_cast<float>(HW);
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * in.c * HW > kParallelWork))
  for (int64_t bc = 0; bc < n * in.c; ++bc) {
    const float* p = x + bc * HW;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= HW; i += 8)
      for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
    double s = 0.0;
    for (int k = 0; k < 8; ++k) s += acc[k];
    for (; i < HW; ++i) s += p[i];
    y[bc] = static_cast<float>(s) * inv;
  }
}

void add_f32(const float* a, const float* b, int64_t count, LbmAct act, float lo, float hi, float* y, int threads) {
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (count > kParallelWork))
  for (int64_t i = 0; i < count; ++i) y[i] = activation(a[i] + b[i], act, lo, hi);
}

void shortcut_a_f32(const float* x, int64_t n, Dims in, int64_t stride, int64_t front, Dims out, float* y,
                    int threads) {
  const int64_t P = out.h * out.w;
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * out.c * P > kParallelWork))
  for (int64_t bc = 0; bc < n * out.c; ++bc) {
    const int64_t b = bc / out.c, c = bc % out.c - front;
    float* yc = y + bc * P;
    if (c < 0 || c >= in.c) {
      for (int64_t i = 0; i < P; ++i) yc[i] = 0.0f;
      continue;
    }
    const float* xc = x + (b * in.c + c) * in.h * in.w;
    for (int64_t i = 0; i < out.h; ++i)
      for (int64_t j = 0; j < out.w; ++j) yc[i * out.w + j] = xc[(i * stride) * in.w + j * stride];
  }
}

void flatten_f32(const float* x, int64_t n, Dims in, float* y) {
  std::memcpy(y, x, static_cast<size_t>(n * in.c * in.h * in.w) * sizeof(float));
}

void flatten_u8(const uint8_t* x, int64_t n, Dims in, uint8_t* y) {
  const int64_t HW = in.h * in.w, F = in.c * HW;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t i = 0; i < HW; ++i) y[b * F + c * HW + i] = x[(b * HW + i) * in.c + c];
}

void flatten_b1(const bword* x, int64_t n, Dims in, bword* y) {
  const int64_t HW = in.h * in.w, F = in.c * HW, cw = words(in.c), fw = words(F);
  for (int64_t b = 0; b < n; ++b) {
    bword* yb = y + b * fw;
    std::memset(yb, 0, static_cast<size_t>(fw) * sizeof(bword));
    for (int64_t i = 0; i < HW; ++i) {
      const bword* xp = x + (b * HW + i) * cw;
      for (int64_t c = 0; c < in.c; ++c)
        if (bit_of(xp, c)) set_bit(yb, c * HW + i);
    }
  }
}

void linear_f32(const float* x, int64_t n, int64_t F, const float* w, int64_t O, const float* bias, float* y,
                int threads) {
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * O * F > kParallelWork))
  for (int64_t bo = 0; bo < n * O; ++bo) {
    const int64_t b = bo / O, m = bo % O;
    const float* xr = x + b * F;
    const float* wr = w + m * F;
    double s = 0.0;
    for (int64_t k = 0; k < F; ++k) s += double(wr[k]) * double(xr[k]);
    y[bo] = bias ? static_cast<float>(s) + bias[m] : static_cast<float>(s);
  }
}

// Each output's double sum adds its taps in (c, kh, kw) order, as the reference does; the loops run over a tile of
// output columns innermost (the valid columns of each tap computed once), so the compiler vectorises across
// outputs without changing any output's order of additions.
void conv2d_f32(const float* x, const kernels::ConvGeom& g, const float* w, const float* bias, float* y, int threads) {
  (void)threads;
  constexpr int64_t kTile = 64;
  const int64_t cin = g.C / g.G, cout = g.O / g.G, P = g.OH * g.OW;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (g.N * g.O * P * cin * g.KH * g.KW > kParallelWork))
  for (int64_t bm = 0; bm < g.N * g.O; ++bm) {
    const int64_t b = bm / g.O, m = bm % g.O, grp = m / cout;
    const float* wm = w + m * cin * g.KH * g.KW;
    const float* xb = x + (b * g.C + grp * cin) * g.H * g.W;
    float* yr = y + bm * P;
    double s[kTile];
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t o0 = 0; o0 < g.OW; o0 += kTile) {
        const int64_t o1 = o0 + kTile < g.OW ? o0 + kTile : g.OW;
        for (int64_t t = 0; t < o1 - o0; ++t) s[t] = 0.0;
        for (int64_t c = 0; c < cin; ++c)
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            const int64_t ih = oh * g.SH - g.PH + kh;
            if (ih < 0 || ih >= g.H) continue;
            const float* xr = xb + (c * g.H + ih) * g.W;
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              // Columns ow with 0 ≤ ow·SW − PW + kw < W.
              const int64_t first = g.PW - kw <= 0 ? 0 : (g.PW - kw + g.SW - 1) / g.SW;
              const int64_t last = g.W - 1 + g.PW - kw < 0 ? -1 : (g.W - 1 + g.PW - kw) / g.SW;
              const int64_t lo = first > o0 ? first : o0, hi = last + 1 < o1 ? last + 1 : o1;
              const double wv = double(wm[(c * g.KH + kh) * g.KW + kw]);
              const float* xs = xr - g.PW + kw;
              if (g.SW == 1)
                for (int64_t ow = lo; ow < hi; ++ow) s[ow - o0] += wv * double(xs[ow]);
              else
                for (int64_t ow = lo; ow < hi; ++ow) s[ow - o0] += wv * double(xs[ow * g.SW]);
            }
          }
        for (int64_t ow = o0; ow < o1; ++ow)
          yr[oh * g.OW + ow] = bias ? static_cast<float>(s[ow - o0]) + bias[m] : static_cast<float>(s[ow - o0]);
      }
  }
}

void epilogue_f32(float* y, int64_t n, int64_t O, int64_t P, const float* a, const float* b, const float* residual,
                  LbmAct act, float lo, float hi, int threads) {
  if (!a && !residual && act == LbmAct::none) return;
  (void)threads;
  // z = y·a + b, then + residual, then the activation: one pass per step over a row (branch-free loops the
  // compiler vectorises; each element still rounds after every operation, as before).
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (n * O * P > kParallelWork))
  for (int64_t bm = 0; bm < n * O; ++bm) {
    const int64_t m = bm % O;
    float* yr = y + bm * P;
    if (a) {
      const float am = a[m], bb = b[m];
      for (int64_t p = 0; p < P; ++p) yr[p] = yr[p] * am + bb;
    }
    if (residual) {
      const float* rr = residual + bm * P;
      for (int64_t p = 0; p < P; ++p) yr[p] = yr[p] + rr[p];
    }
    switch (act) {
      case LbmAct::relu:
        for (int64_t p = 0; p < P; ++p) yr[p] = yr[p] > 0.0f ? yr[p] : 0.0f;
        break;
      case LbmAct::clamp:
        for (int64_t p = 0; p < P; ++p) yr[p] = fmin_(fmax_(yr[p], lo), hi);
        break;
      case LbmAct::none: break;
    }
  }
}

void threshold_codes(const float* T, int64_t rows, int64_t O, const int32_t* t, int64_t levels, const bword* flip,
                     uint8_t* y, int threads) {
  (void)threads;
  LOWBIT_OMP(parallel for num_threads(threads) schedule(static) if (rows * O * levels > kParallelWork))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t m = 0; m < O; ++m) {
      const int64_t v = static_cast<int64_t>(T[r * O + m]);  // exact: |T| < 2^24 (checked at load)
      const int32_t* tm = t + m * levels;
      int64_t level = 0;
      if (flip && bit_of(flip, m)) {
        for (int64_t j = 0; j < levels; ++j) level += v <= tm[j];
      } else {
        for (int64_t j = 0; j < levels; ++j) level += v >= tm[j];
      }
      y[r * O + m] = static_cast<uint8_t>(level);
    }
}

}  // namespace lowbit::runtime::ops
