// The kernel-path autograd ops of the quantized layers. Forward: the integer GEMM of the layer's codes
// (quant/layers/int_gemm.h), rescaled to fp32. Backward: the fp32 conv/linear gradient on the dequantized
// values (the same values the fake-quant path convolves), so the quantizers' surrogate gradients apply
// unchanged upstream. Graph: x_q (rule op) ─┐
//                                           ├─ kernel op (value from the kernel, grad from fp32 conv) ─ y
//                          w_q (rule op) ──┘
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "engine/var.h"
#include "quant/layers/im2col.h"
#include "quant/layers/int_gemm.h"
#include "quant/rules.h"

namespace lowbit::quant {

// Packed weights of one layer (one IntWeights per group) plus the padding corrections for binary activations.
// Owned and cached by the layer; rebuilt when the weight version or the input geometry changes.
struct PackedLayer {
  bool valid = false;
  uint64_t version = 0;
  IntBackend backend = IntBackend::reference;
  std::vector<IntWeights> groups;
  std::vector<float> out_scale;  // [Cout] = weight scale[m]·mult
  std::vector<int32_t> wsum;     // [Cout] = Σ_k kc[m][k] (activation zero-point term)
  // Binary × binary convs (bgemm backend, one group): the weights also in bconv2d's layout
  // [Cout][KH][KW][Cw] (kernels/bconv2d/bconv2d.h), so the forward convolves channel-packed input bits
  // directly (bits packed once from the activations, im2col on bits inside the kernel, zero padding exact).
  bool bconv = false;
  AlignedBytes bconv_w;
  // Binary (±1) weights × 1-bit unsigned activations x ∈ {0, 1} (DoReFa W1A1), one group: the same bconv2d
  // weights, with x = (1 + s)/2, s = 2x − 1 ∈ ±1, so Σ_valid w·x = (Σ_valid w + Σ_valid w·s)/2 (derivation in
  // kernel_ops.cpp). sign_scale[m] = the weights' real scale of filter m, sign_wsum[m] = Σ_k of its ±1 codes.
  bool bconv_affine = false;
  std::vector<float> sign_scale;
  std::vector<int32_t> sign_wsum;
  std::vector<int8_t> sign_codes;  // [Cout][K] ±1 codes in tap-major order
  // Σ of the ±1 codes over each padding class's padded taps, [classes][Cout] (class 0: nothing padded), for
  // the input size affine_H × affine_W it was built for.
  int64_t affine_H = -1, affine_W = -1;
  std::vector<int32_t> affine_pixel_class, affine_corr;
  // Binary activations in a padded conv: pixel classes and, per group, [classes][Mg] corrections.
  int64_t corr_H = -1, corr_W = -1;
  std::vector<int32_t> pixel_class;
  std::vector<std::vector<int32_t>> class_corr;
};

struct LayerScratch {
  AlignedBytes rows;               // im2col'd activation bytes (or packed input bits on the bconv2d route)
  std::vector<uint8_t> nhwc;       // one group's activation codes, channel-last
  std::vector<int32_t> D, xsum, row_class;
  std::vector<float> fscale;       // bconv2d route: per-channel output scale (weight scale · activation scale)
  std::vector<float> fbias;        // affine bconv2d route: per-channel bias of the interior pixels
  std::vector<float> pm1;          // affine bconv2d route: the activations as ±1 floats, s = 2x − 1
  IntGemmScratch gemm;
};

// Packs the weight codes for `backend` ([Cout][K] with `groups` groups). Conv weights [Cout][Cg][KH][KW]
// (taps = KH·KW) are reordered to [Cout][KH][KW][Cg], the tap-major order of im2col_rows_nhwc.
// unsigned_1bit_acts: the layer's activations are 1-bit unsigned codes (enables the affine bconv2d route for
// binary weights in one group).
void pack_layer(const QCodes& w, int64_t groups, int64_t taps, IntBackend backend, uint64_t version,
                PackedLayer& out, bool unsigned_1bit_acts = false);

// Activation kind of a code tensor (binary ±1 or unsigned); throws for formats the kernel path cannot take.
// Unsigned codes may have an integer zero point zx (the 8-bit image input); padding then holds the byte zx.
ActKind act_kind_of(const QCodes& x);

// Inference on the bconv2d route (packed.bconv) straight from the unquantized input's sign bits: the output of
// qconv2d_kernel on bnn_sign(x) (activation scale 1), without computing bnn_sign (see
// QuantizedLayer::sign_bits_suffice). No graph is recorded.
Tensor qconv2d_sign_bits(const Tensor& x, const Var& bias, const ConvGeom& g, PackedLayer& packed, LayerScratch& s);

// Conv forward through the kernels. x: quantized input (value [N, C, H, W] + codes), w_value: the dequantized
// weight Var (for the backward), bias may be undefined. Returns y [N, Cout, OH, OW].
Var qconv2d_kernel(const Quantized& x, const Var& w_value, const Var& bias, const ConvGeom& g, PackedLayer& packed,
                   LayerScratch& scratch);
// Linear forward through the kernels: x value [N, F] + codes, w_value [O, F]. Returns [N, O].
Var qlinear_kernel(const Quantized& x, const Var& w_value, const Var& bias, PackedLayer& packed,
                   LayerScratch& scratch);

// Multiplies y [N, C, ...] by a per-sample-per-position factor k [N, 1, ...] (XNOR-Net's K), with gradients
// to both.
Var scale_positions(const Var& y, const Var& k);

}  // namespace lowbit::quant
