// Patch-major im2col of activation codes for the quantized layers: one row per output pixel, K = Cg·KH·KW
// codes per row, so a row is directly the activation operand of the integer GEMM kernels (N rows of K).
// (The fp32 backward of these layers is the engine's conv2d_backward.)
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

// The integer path's layout, tap-major: rows[p·ld + (i·KW + j)·Cg + c] from channel-last bytes
// nhwc[(h·W + w)·Cg + c] of one sample (one group's channels); padding bytes are `pad` (the code of the value
// 0: 0, or the zero point of affine codes). Each tap is one contiguous copy of Cg bytes, which is why the
// kernel path reorders weights to [Cout][KH][KW][Cg] (pack_layer).
void im2col_rows_nhwc(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, int64_t ld, uint8_t pad = 0);

// Padding classes: every output pixel gets a class id (0 = no element in the padding); class c ≥ 1 comes
// with its mask over the K positions in the tap-major order of im2col_rows_nhwc (1 = padded). Pixels with the same set of padded taps share a class.
void padding_classes(const ConvGeom& g, std::vector<int32_t>& pixel_class, std::vector<std::vector<uint8_t>>& masks);

}  // namespace lowbit::quant
