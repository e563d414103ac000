// Linear: y = x·Wᵀ + b with x [N, in], W [out, in], b [out]. PyTorch default init (engine/init.h):
// weight and bias from U(±1/√fan_in), fan_in = in.
#pragma once
#include "engine/rng.h"
#include "nn/module.h"

namespace lowbit::nn {

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, Rng& rng, bool bias = true);
  Var forward(const Var& x) override;
  std::string describe() const override;
  int64_t macs(const Shape& in, const Shape& out) const override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  Var weight() const { return weight_; }  // a handle sharing the parameter node
  Var bias() const { return bias_; }  // undefined when built without bias

 protected:
  // For subclasses (quantized layers) that reuse the fp32 shadow weights under their own type name.
  Linear(std::string type_name, int in_features, int out_features, Rng& rng, bool bias);

 private:
  int in_, out_;
  Var weight_, bias_;
};

}  // namespace lowbit::nn
