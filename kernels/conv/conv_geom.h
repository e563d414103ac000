// The one 2-D convolution geometry of the project: input N×C×H×W, O output channels, a KH×KW kernel, stride,
// symmetric zero padding and groups, and the output size. The fp32 engine (engine/ops/conv.cpp), the quantized
// layers' integer path (quant/layers) and bconv2d (kernels/bconv2d) all describe a convolution with it.
//
//   OH = ⌊(H + 2·PH − KH) / SH⌋ + 1,   OW = ⌊(W + 2·PW − KW) / SW⌋ + 1
//   output pixel (oh, ow), tap (i, j) reads input row oh·SH − PH + i and column ow·SW − PW + j (padding outside)
//   group g: input channels [g·Cg, (g+1)·Cg) with Cg = C/G, output channels [g·Og, (g+1)·Og) with Og = O/G
//
// Freestanding: plain integers, no exceptions, no heap. conv_geom_finish checks a geometry with overflow-checked
// arithmetic and fills OH, OW; callers that throw (engine, quant) turn its Status into their own error message.
#pragma once
#include <cstdint>

#include "kernels/packing.h"

namespace lowbit::kernels {

struct ConvGeom {
  int64_t N = 1, C = 0, H = 0, W = 0;  // input: batch, channels, height, width
  int64_t O = 0;                       // output channels (0 where only the input side matters)
  int64_t KH = 1, KW = 1;              // kernel
  int64_t SH = 1, SW = 1;              // stride
  int64_t PH = 0, PW = 0;              // zero padding, each side
  int64_t G = 1;                       // groups
  int64_t OH = 0, OW = 0;              // output size (conv_geom_finish)

  int64_t Cg() const { return C / G; }             // input channels per group
  int64_t Og() const { return O / G; }             // output channels per group
  int64_t taps() const { return KH * KW; }
  int64_t K() const { return Cg() * KH * KW; }     // GEMM depth: one group's patch
  int64_t P() const { return OH * OW; }            // output pixels per image
  bool pointwise() const { return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0; }
};

// Largest extent, kernel, stride or padding conv_geom_finish accepts (2^31 − 1: every index fits int32 loops'
// products in int64 with room to spare).
inline constexpr int64_t kConvMaxExtent = (int64_t{1} << 31) - 1;

// ⌊(in + 2·pad − k) / stride⌋ + 1, or 0 if the padded input is shorter than the kernel or an argument is out of
// range (in, k, stride ≥ 1, pad ≥ 0, all ≤ kConvMaxExtent).
inline int64_t conv_out_extent(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  if (in < 1 || k < 1 || stride < 1 || pad < 0) return 0;
  if (in > kConvMaxExtent || k > kConvMaxExtent || stride > kConvMaxExtent || pad > kConvMaxExtent) return 0;
  const int64_t padded = in + 2 * pad;  // < 2^33: no overflow
  return padded < k ? 0 : (padded - k) / stride + 1;
}

// a·b into *out; false (and *out untouched) on overflow or a negative factor.
inline bool checked_mul(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return false;
  *out = r;
  return true;
}

// Checks g and sets g.OH, g.OW. Status::bad_size if C, H, W, KH, KW, SH, SW or G is < 1, N, O or a padding is < 0,
// G does not divide C (or O), the padded input is smaller than the kernel, or one of the element counts
// N·C·H·W, O·K and N·O·OH·OW overflows int64.
inline Status conv_geom_finish(ConvGeom& g) {
  if (g.N < 0 || g.C < 1 || g.G < 1 || g.O < 0 || g.C % g.G != 0 || g.O % g.G != 0) return Status::bad_size;
  const int64_t oh = conv_out_extent(g.H, g.KH, g.SH, g.PH), ow = conv_out_extent(g.W, g.KW, g.SW, g.PW);
  if (oh < 1 || ow < 1) return Status::bad_size;
  int64_t t;
  if (!checked_mul(g.N, g.C, &t) || !checked_mul(t, g.H, &t) || !checked_mul(t, g.W, &t)) return Status::bad_size;
  if (!checked_mul(g.KH, g.KW, &t) || !checked_mul(t, g.Cg(), &t) || !checked_mul(t, g.O, &t)) return Status::bad_size;
  if (!checked_mul(g.N, g.O, &t) || !checked_mul(t, oh, &t) || !checked_mul(t, ow, &t)) return Status::bad_size;
  g.OH = oh, g.OW = ow;
  return Status::ok;
}

}  // namespace lowbit::kernels
