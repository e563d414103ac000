// The kernel-path autograd ops of the quantized layers. Forward: the integer layer tier (kernels/qlayer/qlayer.h —
// packing, backend, im2col with padding corrections, the bconv / affine / generic routes, the fp32 rescale), the
// same code the runtime runs. Backward: the fp32 conv/linear gradient on the dequantized values (the same values
// the fake-quant path convolves), so the quantizers' surrogate gradients apply unchanged upstream. Graph:
//   x_q (rule op) ─┐
//                  ├─ kernel op (value from the tier, grad from fp32 conv) ─ y
//   w_q (rule op) ─┘
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/var.h"
#include "kernels/conv/conv_geom.h"
#include "kernels/qlayer/qlayer.h"
#include "quant/layers/int_backend.h"
#include "quant/rules.h"

namespace lowbit::quant {

// The project's one conv geometry (kernels/conv/conv_geom.h).
using kernels::ConvGeom;
// The checked geometry of a conv of input [N, C, H, W] into O channels (throws naming the sizes if it is invalid).
ConvGeom make_conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride, int pad,
                        int groups);
// A linear layer as the tier sees it: N samples of F features, a 1×1 "conv" into O outputs.
ConvGeom linear_geom(int64_t N, int64_t F, int64_t O);

// A layer's packed weights (the tier's buffer and its view), owned and cached by the layer; rebuilt when the
// weight version, the backend or the activation codes' format change.
struct PackedLayer {
  bool valid = false;
  uint64_t version = 0;
  IntBackend backend = IntBackend::reference;
  ActKind act = ActKind::uint;
  int abits = 0;
  int32_t azero = 0;
  AlignedBytes buf;
  kernels::QLayerPacked view;
};

// The workspace of the tier's forward calls (grows to the largest call seen).
struct LayerScratch {
  AlignedBytes ws;
};

// Packs weight codes w ([Cout][Cg][KH][KW], or [O][F] with geom from linear_geom) for activations of kind xk with
// xbits bits and integer zero point azero, on `backend`.
void pack_layer(const QCodes& w, const ConvGeom& geom, bool conv, ActKind xk, int xbits, int32_t azero,
                IntBackend backend, uint64_t version, PackedLayer& out);

// Activation kind of a code tensor (binary ±1 or unsigned); throws for formats the kernel path cannot take.
// Unsigned codes may have an integer zero point zx (the 8-bit image input); padding then holds the byte zx.
ActKind act_kind_of(const QCodes& x);

// Inference on the bconv route straight from the unquantized input's sign bits: the output of qconv2d_kernel on
// bnn_sign(x) (activation scale 1), without computing bnn_sign (see QuantizedLayer::sign_bits_suffice). No graph.
Tensor qconv2d_sign_bits(const Tensor& x, const Var& bias, const ConvGeom& g, PackedLayer& packed, LayerScratch& s);

// Conv forward through the tier. x: quantized input (value [N, C, H, W] + codes), w_value: the dequantized weight
// Var (for the backward), bias may be undefined. Returns y [N, Cout, OH, OW].
Var qconv2d_kernel(const Quantized& x, const Var& w_value, const Var& bias, const ConvGeom& g, PackedLayer& packed,
                   LayerScratch& scratch);
// Linear forward through the tier: x value [N, F] + codes, w_value [O, F]. Returns [N, O].
Var qlinear_kernel(const Quantized& x, const Var& w_value, const Var& bias, PackedLayer& packed,
                   LayerScratch& scratch);

// Multiplies y [N, C, ...] by a per-sample-per-position factor k [N, 1, ...] (XNOR-Net's K), with gradients
// to both.
Var scale_positions(const Var& y, const Var& k);

}  // namespace lowbit::quant
