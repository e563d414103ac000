// Patch-major im2col for the quantized layers: one row per output pixel, K = Cg·KH·KW elements per row in the
// order (c, kh, kw) — the order of a weight row [Cout][Cin/groups][KH][KW] — so a row is directly the operand
// of the integer GEMM kernels (activations as N rows of K) and of the fp32 backward. Elements that fall in
// the zero padding are written as T(0).
#pragma once
#include <cstdint>
#include <vector>

namespace lowbit::quant {

struct ConvGeom {
  int64_t C = 0, H = 0, W = 0;  // input channels and size
  int64_t KH = 1, KW = 1, SH = 1, SW = 1, PH = 0, PW = 0;
  int64_t groups = 1;
  int64_t OH = 0, OW = 0;
  int64_t Cg() const { return C / groups; }
  int64_t K() const { return Cg() * KH * KW; }
  int64_t P() const { return OH * OW; }
};
ConvGeom make_conv_geom(int64_t C, int64_t H, int64_t W, int kh, int kw, int stride, int pad, int groups);

// rows[p·ld + k] for p < P, k < K from input channels [c0, c0 + Cg) of one sample x [C][H][W], converting
// each element with conv(T_in) -> T_out.
template <class In, class Out, class Conv>
void im2col_rows(const In* x, const ConvGeom& g, int64_t c0, Out* rows, int64_t ld, Conv conv) {
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      Out* r = rows + (oh * g.OW + ow) * ld;
      int64_t k = 0;
      for (int64_t c = 0; c < g.Cg(); ++c) {
        const In* xc = x + (c0 + c) * g.H * g.W;
        for (int64_t i = 0; i < g.KH; ++i) {
          const int64_t h = oh * g.SH - g.PH + i;
          const bool hin = h >= 0 && h < g.H;
          for (int64_t j = 0; j < g.KW; ++j, ++k) {
            const int64_t w = ow * g.SW - g.PW + j;
            r[k] = hin && w >= 0 && w < g.W ? conv(xc[h * g.W + w]) : Out(0);
          }
        }
      }
    }
  }
}

// The integer path's layout, tap-major: rows[p·ld + (i·KW + j)·Cg + c] from channel-last bytes
// nhwc[(h·W + w)·Cg + c] of one sample (one group's channels); padding bytes are `pad` (the code of the value
// 0: 0, or the zero point of affine codes). Each tap is one contiguous copy of Cg bytes, which is why the
// kernel path reorders weights to [Cout][KH][KW][Cg] (pack_layer).
void im2col_rows_nhwc(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, int64_t ld, uint8_t pad = 0);

// Adds rows (the layout above) back into dx [C][H][W] of one sample, channels [c0, c0 + Cg).
void col2im_rows_add(const float* rows, const ConvGeom& g, int64_t c0, int64_t ld, float* dx);

// Padding classes: every output pixel gets a class id (0 = no element in the padding); class c ≥ 1 comes
// with its mask over the K positions in the tap-major order of im2col_rows_nhwc (1 = padded). Pixels with the same set of padded taps share a class.
void padding_classes(const ConvGeom& g, std::vector<int32_t>& pixel_class, std::vector<std::vector<uint8_t>>& masks);

}  // namespace lowbit::quant
