// QLinear: a Linear (same fp32 shadow weights, names and init) whose forward quantizes input and weights by
// its Precision and runs the low-bit kernels (QuantizedLayer explains the two paths).
#pragma once
#include "nn/layers/linear.h"
#include "quant/layers/quantized_layer.h"

namespace lowbit::quant {

class QLinear : public nn::Linear, public QuantizedLayer {
 public:
  QLinear(int in_features, int out_features, bool bias, const Precision& p, const QuantOptions& q, Rng& rng);
  Var forward(const Var& x) override;
  std::string describe() const override;
  Var shadow_weight() const override { return weight(); }
};

}  // namespace lowbit::quant
