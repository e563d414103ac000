// QConv2d: a Conv2d (same fp32 shadow weights, names and init, so an fp32 checkpoint loads into it) whose
// forward quantizes input and weights by its Precision and runs the low-bit kernels (QuantizedLayer explains
// the two paths). Grouped and depthwise convolutions work on both paths; the kernel path runs one integer
// GEMM per group. BatchNorm stays a separate fp32 module.
#pragma once
#include "nn/layers/conv2d.h"
#include "quant/layers/quantized_layer.h"

namespace lowbit::quant {

class QConv2d : public nn::Conv2d, public QuantizedLayer {
 public:
  QConv2d(const nn::Conv2dOptions& o, const Precision& p, const QuantOptions& q, Rng& rng);
  Var forward(const Var& x) override;
  std::string describe() const override;
  Var shadow_weight() const override { return weight(); }
};

}  // namespace lowbit::quant
