#include "nn/layers/linear.h"

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/init.h"

namespace lowbit::nn {

Linear::Linear(int in_features, int out_features, Rng& rng, bool bias)
    : Linear("Linear", in_features, out_features, rng, bias) {}

Linear::Linear(std::string type_name, int in_features, int out_features, Rng& rng, bool bias)
    : Module(std::move(type_name)), in_(in_features), out_(out_features) {
  LOWBIT_CHECK(in_features > 0 && out_features > 0, "{}: features must be positive, got in={} out={}",
               this->type_name(), in_features, out_features);
  Tensor w(Shape{out_features, in_features});
  kaiming_uniform_(w, rng);  // PyTorch default: U(±1/√fan_in)
  weight_ = register_parameter("weight", w);
  if (bias) {
    Tensor b(Shape{out_features});
    bias_uniform_(b, rng, in_features);
    bias_ = register_parameter("bias", b);
  }
}

Var Linear::forward(const Var& x) {
  LOWBIT_CHECK(x.shape().rank() == 2 && x.shape()[1] == in_,
               "{}: expected input [N, {}], got {}", type_name(), in_, x.shape().str());
  return linear(x, weight_, bias_);
}

std::string Linear::describe() const { return fmt::format("{}->{}{}", in_, out_, bias_.defined() ? "" : " nobias"); }

int64_t Linear::macs(const Shape&, const Shape& out) const { return out.numel() * in_; }

}  // namespace lowbit::nn
