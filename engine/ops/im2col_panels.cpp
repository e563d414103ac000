// Portable im2col-into-panels packer (see conv_geom.h and sgemm_serial_cb in engine/gemm.h).
#include <algorithm>

#include "engine/ops/conv_geom.h"

namespace lowbit::ops_detail {

namespace {
inline void copy_row(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}
}  // namespace

void im2col_panels_ref(const void* ctx_, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const Im2colPanelCtx* ctx = static_cast<const Im2colPanelCtx*>(ctx_);
  const ConvGeom& g = *ctx->g;
  constexpr int64_t Wp = kSgemmPanelWidth;
  const int64_t npanels = (nc + Wp - 1) / Wp;
  // Output (row, column) of each panel's first position: no divisions in the inner loops.
  int64_t oh0[kSgemmMaxNc / kSgemmPanelWidth], ow0[kSgemmMaxNc / kSgemmPanelWidth];
  for (int64_t j = 0; j < npanels; ++j) {
    oh0[j] = (n0 + j * Wp) / g.OW;
    ow0[j] = (n0 + j * Wp) % g.OW;
  }
  for (int64_t k = k0; k < k0 + kc; ++k) {
    const float* xc = ctx->x + ctx->k_off[k];
    const int64_t kh = ctx->k_kh[k], kw = ctx->k_kw[k];
    for (int64_t j = 0; j < npanels; ++j) {
      const int64_t cols = std::min(Wp, nc - j * Wp);
      float* __restrict d = dst + j * kc * Wp + (k - k0) * Wp;
      int64_t q = 0, oh = oh0[j], ow = ow0[j];
      while (q < cols) {
        const int64_t run = std::min(cols - q, g.OW - ow);
        const int64_t ih = oh * g.sh - g.ph + kh;
        if (ih < 0 || ih >= g.H) {
          for (int64_t t = 0; t < run; ++t) d[q + t] = 0.0f;
        } else {
          const float* __restrict xr = xc + ih * g.W;
          const int64_t base = ow * g.sw - g.pw + kw;
          if (g.sw == 1) {
            // Zero prefix (left padding), contiguous middle, zero suffix (right padding).
            const int64_t lo = std::min(run, std::max<int64_t>(0, -base));
            const int64_t hi = std::max(lo, std::min(run, g.W - base));
            for (int64_t t = 0; t < lo; ++t) d[q + t] = 0.0f;
            copy_row(d + q + lo, xr + base + lo, hi - lo);
            for (int64_t t = hi; t < run; ++t) d[q + t] = 0.0f;
          } else {
            for (int64_t t = 0; t < run; ++t) {
              const int64_t iw = base + t * g.sw;
              d[q + t] = (iw >= 0 && iw < g.W) ? xr[iw] : 0.0f;
            }
          }
        }
        q += run;
        ow = 0;
        ++oh;
      }
      for (; q < Wp; ++q) d[q] = 0.0f;
    }
  }
}

PackBFn im2col_panels_kernel() { return im2col_panels_ref; }

}  // namespace lowbit::ops_detail
