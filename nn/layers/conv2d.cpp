#include "nn/layers/conv2d.h"

#include "engine/error.h"
#include "engine/init.h"

namespace lowbit::nn {

Conv2d::Conv2d(const Conv2dOptions& o, Rng& rng) : Conv2d("Conv2d", o, rng) {}

Conv2d::Conv2d(int in_channels, int out_channels, int kernel, int stride, int pad, Rng& rng, bool bias,
               int groups)
    : Conv2d("Conv2d", Conv2dOptions{in_channels, out_channels, kernel, kernel, stride, pad, groups, bias}, rng) {}

Conv2d::Conv2d(std::string type_name, const Conv2dOptions& o, Rng& rng) : Module(std::move(type_name)), o_(o) {
  LOWBIT_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_h > 0 && o.kernel_w > 0 && o.stride > 0 &&
                   o.pad >= 0 && o.groups > 0,
               "{}: invalid options in={} out={} kernel={}x{} stride={} pad={} groups={}", this->type_name(),
               o.in_channels, o.out_channels, o.kernel_h, o.kernel_w, o.stride, o.pad, o.groups);
  LOWBIT_CHECK(o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0,
               "{}: groups={} must divide in_channels={} and out_channels={}", this->type_name(), o.groups,
               o.in_channels, o.out_channels);
  const int64_t fan_in = int64_t(o.in_channels / o.groups) * o.kernel_h * o.kernel_w;
  Tensor w(Shape{o.out_channels, o.in_channels / o.groups, o.kernel_h, o.kernel_w});
  kaiming_uniform_(w, rng);  // PyTorch default: U(±1/√fan_in)
  weight_ = register_parameter("weight", w);
  if (o.bias) {
    Tensor b(Shape{o.out_channels});
    bias_uniform_(b, rng, fan_in);
    bias_ = register_parameter("bias", b);
  }
}

Conv2dParams Conv2d::params() const {
  Conv2dParams p;
  p.stride_h = p.stride_w = o_.stride;
  p.pad_h = p.pad_w = o_.pad;
  p.groups = o_.groups;
  return p;
}

void Conv2d::check_input(const Var& x) const {
  const Shape& s = x.shape();
  LOWBIT_CHECK(s.rank() == 4 && s[1] == o_.in_channels, "{}: expected input [N, {}, H, W], got {}", type_name(),
               o_.in_channels, s.str());
  LOWBIT_CHECK(s[2] + 2 * o_.pad >= o_.kernel_h && s[3] + 2 * o_.pad >= o_.kernel_w,
               "{}: input {} is smaller than the {}x{} kernel with padding {}", type_name(), s.str(), o_.kernel_h,
               o_.kernel_w, o_.pad);
}

Var Conv2d::forward(const Var& x) {
  check_input(x);
  return conv2d(x, weight_, bias_, params());
}

std::string Conv2d::describe() const {
  std::string s = fmt::format("{}x{} s{} p{}", o_.kernel_h, o_.kernel_w, o_.stride, o_.pad);
  if (o_.groups > 1) s += o_.groups == o_.in_channels ? " dw" : fmt::format(" g{}", o_.groups);
  if (!o_.bias) s += " nobias";
  return s;
}

// Each output element is a dot product over Cin/groups·KH·KW inputs.
int64_t Conv2d::macs(const Shape&, const Shape& out) const {
  return out.numel() * int64_t(o_.in_channels / o_.groups) * o_.kernel_h * o_.kernel_w;
}

}  // namespace lowbit::nn
