// Portable im2col packers (into GEMM panels and materialised; see conv_geom.h and sgemm_serial_cb in
// engine/gemm.h) and the dispatch table that chooses between them and the AVX-512 ones (im2col_avx512.cpp).
#include <algorithm>
#include <cstring>

#include "engine/ops/conv_geom.h"
#include "kernels/dispatch_table.h"

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
        const int64_t ih = oh * g.SH - g.PH + kh;
        if (ih < 0 || ih >= g.H) {
          for (int64_t t = 0; t < run; ++t) d[q + t] = 0.0f;
        } else {
          const float* __restrict xr = xc + ih * g.W;
          const int64_t base = ow * g.SW - g.PW + kw;
          if (g.SW == 1) {
            // Zero prefix (left padding), contiguous middle, zero suffix (right padding).
            const int64_t lo = std::min(run, std::max<int64_t>(0, -base));
            const int64_t hi = std::max(lo, std::min(run, g.W - base));
            for (int64_t t = 0; t < lo; ++t) d[q + t] = 0.0f;
            copy_row(d + q + lo, xr + base + lo, hi - lo);
            for (int64_t t = hi; t < run; ++t) d[q + t] = 0.0f;
          } else {
            for (int64_t t = 0; t < run; ++t) {
              const int64_t iw = base + t * g.SW;
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

void im2col_ref(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col, const void*) {
  const int64_t C = g.Cg(), H = g.H, W = g.W, OW = g.OW, Pc = (oh1 - oh0) * OW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        float* row = col + ((c * g.KH + kh) * g.KW + kw) * Pc;
        const float* xc = x + c * H * W;
        // Output columns whose input column lies inside [0, W): ow in [ow_lo, ow_hi).
        const int64_t off = kw - g.PW;
        int64_t ow_lo = off >= 0 ? 0 : (-off + g.SW - 1) / g.SW;
        int64_t ow_hi = W - off <= 0 ? 0 : (W - off + g.SW - 1) / g.SW;
        ow_lo = std::min(ow_lo, OW);
        ow_hi = std::min(std::max(ow_hi, ow_lo), OW);
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          float* r = row + (oh - oh0) * OW;
          const int64_t ih = oh * g.SH - g.PH + kh;
          if (ih < 0 || ih >= H) {
            std::memset(r, 0, static_cast<size_t>(OW) * sizeof(float));
            continue;
          }
          const float* xr = xc + ih * W + off;
          for (int64_t ow = 0; ow < ow_lo; ++ow) r[ow] = 0.0f;
          if (g.SW == 1) {
            copy_row(r + ow_lo, xr + ow_lo, ow_hi - ow_lo);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] = xr[ow * g.SW];
          }
          for (int64_t ow = ow_hi; ow < OW; ++ow) r[ow] = 0.0f;
        }
      }
}

namespace {
std::vector<unsigned char> no_panel_pieces(const ConvGeom&) { return {}; }
std::vector<unsigned char> no_slice_pieces(const ConvGeom&, int64_t, int64_t) { return {}; }

constexpr Im2colKernels kIm2colRef = {im2col_panels_ref, no_panel_pieces, im2col_ref, no_slice_pieces};
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
constexpr Im2colKernels kIm2colAvx512 = {im2col_panels_avx512, im2col_panel_pieces_avx512, im2col_avx512,
                                         im2col_slice_pieces_avx512};
#endif
// AVX2 and NEON CPUs use the portable packers (the reference entry).
constexpr kernels::IsaTables<Im2colKernels> kIm2colTables = {&kIm2colRef, nullptr, LOWBIT_X86_VARIANT(kIm2colAvx512),
                                                             nullptr};
}  // namespace

const Im2colKernels* im2col_kernels_for(kernels::Isa isa) { return kernels::table_for_isa(isa, kIm2colTables); }

const Im2colKernels& im2col_kernels() {
  static const Im2colKernels& table = kernels::active_table(kIm2colTables);
  return table;
}

}  // namespace lowbit::ops_detail
