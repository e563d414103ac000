// Conv2d over NCHW: x [N, Cin, H, W], weight [Cout, Cin/groups, KH, KW], optional bias [Cout].
// groups == Cin == Cout is a depthwise convolution (MobileNet). PyTorch default init (engine/init.h):
// weight and bias from U(±1/√fan_in) with fan_in = Cin/groups·KH·KW.
#pragma once
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/module.h"

namespace lowbit::nn {

struct Conv2dOptions {
  int in_channels = 0, out_channels = 0;
  int kernel_h = 3, kernel_w = 3;
  int stride = 1, pad = 0, groups = 1;
  bool bias = true;
};

class Conv2d : public Module {
 public:
  Conv2d(const Conv2dOptions& o, Rng& rng);
  // Square kernel shorthand.
  Conv2d(int in_channels, int out_channels, int kernel, int stride, int pad, Rng& rng, bool bias = true,
         int groups = 1);
  Var forward(const Var& x) override;
  std::string describe() const override;
  int64_t macs(const Shape& in, const Shape& out) const override;

  const Conv2dOptions& options() const { return o_; }
  Conv2dParams params() const;
  Var weight() const { return weight_; }  // a handle sharing the parameter node
  Var bias() const { return bias_; }  // undefined when built without bias

 protected:
  // For subclasses (quantized layers) that reuse the fp32 shadow weights under their own type name.
  Conv2d(std::string type_name, const Conv2dOptions& o, Rng& rng);
  void check_input(const Var& x) const;

 private:
  Conv2dOptions o_;
  Var weight_, bias_;
};

}  // namespace lowbit::nn
