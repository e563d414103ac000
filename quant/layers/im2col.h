// Patch-major im2col of activation codes for the quantized layers: one row per output pixel, K = Cg·KH·KW
// codes per row, so a row is directly the activation operand of the integer GEMM kernels (N rows of K).
// (The fp32 backward of these layers is the engine's conv2d_backward.)
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/conv/conv_geom.h"

namespace lowbit::quant {

// The project's one conv geometry (kernels/conv/conv_geom.h).
using kernels::ConvGeom;
// The checked geometry of a conv of input [N, C, H, W] into O channels (throws naming the sizes if it is invalid).
ConvGeom make_conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride, int pad,
                        int groups);

// The integer path's layout, tap-major: rows[p·ld + (i·KW + j)·Cg + c] from channel-last bytes
// nhwc[(h·W + w)·Cg + c] of one sample (one group's channels); padding bytes are `pad` (the code of the value
// 0: 0, or the zero point of affine codes). Each tap is one contiguous copy of Cg bytes, which is why the
// kernel path reorders weights to [Cout][KH][KW][Cg] (pack_layer).
void im2col_rows_nhwc(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, int64_t ld, uint8_t pad = 0);

// Zero-padding corrections of binary activations (kernels/conv/pad_classes.h, derivation there) for int8 weight
// codes [M][KH·KW·Cg] in the tap-major order of im2col_rows_nhwc: pixel_class[OH·OW] (0 = interior) and
// corr[classes][M], the sum of each filter's codes over the taps a pixel of that class has in the padding.
void padding_corrections(const ConvGeom& g, const int8_t* codes, size_t M, std::vector<int32_t>& pixel_class,
                         std::vector<int32_t>& corr);

}  // namespace lowbit::quant
