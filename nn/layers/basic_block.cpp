#include "nn/layers/basic_block.h"

#include <cstring>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"

namespace lowbit::nn {

ShortcutA::ShortcutA(int in_channels, int out_channels, int stride)
    : Module("ShortcutA"), in_(in_channels), out_(out_channels), stride_(stride) {
  LOWBIT_CHECK(in_channels > 0 && out_channels >= in_channels && stride >= 1,
               "ShortcutA: needs 0 < in_channels <= out_channels and stride >= 1, got in={} out={} stride={}",
               in_channels, out_channels, stride);
}

std::string ShortcutA::describe() const {
  return fmt::format("subsample s{}, zero-pad {}->{}", stride_, in_, out_);
}

Var ShortcutA::forward(const Var& x) {
  const Shape& s = x.shape();
  LOWBIT_CHECK(s.rank() == 4 && s[1] == in_, "ShortcutA: expected input [N, {}, H, W], got {}", in_, s.str());
  const int64_t n = s[0], h = s[2], w = s[3];
  const int64_t oh = (h - 1) / stride_ + 1, ow = (w - 1) / stride_ + 1;  // same as a 3×3 pad-1 conv's output
  const int64_t front = (out_ - in_) / 2;
  const int in = in_, out = out_, st = stride_;
  Tensor y(Shape{n, out, oh, ow});  // zero-filled: the padded channels stay 0
  const float* px = x.value().data();
  float* py = y.data();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < in; ++c) {
      const float* src = px + (b * in + c) * h * w;
      float* dst = py + (b * out + c + front) * oh * ow;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) dst[i * ow + j] = src[(i * st) * w + j * st];
    }
  // Backward scatters the kept channels' gradient back to the sampled positions.
  return Var::make(y, {x}, [=](const Tensor& g, std::vector<Var>& inputs) {
    if (!inputs[0].requires_grad()) return;
    Tensor gx(Shape{n, in, h, w});
    const float* pg = g.data();
    float* pgx = gx.data();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t c = 0; c < in; ++c) {
        const float* src = pg + (b * out + c + front) * oh * ow;
        float* dst = pgx + (b * in + c) * h * w;
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) dst[(i * st) * w + j * st] = src[i * ow + j];
      }
    inputs[0].add_grad(gx);
  });
}

ModulePtr BasicBlock::make_shortcut(int in_channels, int out_channels, int stride) {
  if (in_channels == out_channels && stride == 1) return std::make_shared<Identity>();
  return std::make_shared<ShortcutA>(in_channels, out_channels, stride);
}

BasicBlock::BasicBlock(BasicBlockParts p) : Module("BasicBlock") {
  // Registration order fixes the child slots forward() uses.
  register_module("conv1", p.conv1);
  register_module("bn1", p.bn1);
  register_module("act1", p.act1);
  register_module("conv2", p.conv2);
  register_module("bn2", p.bn2);
  register_module("shortcut", p.shortcut);
  register_module("act2", p.act2);
}

namespace {
BasicBlockParts fp32_parts(int in, int out, int stride, Rng& rng, Activation act) {
  BasicBlockParts p;
  p.conv1 = std::make_shared<Conv2d>(Conv2dOptions{in, out, 3, 3, stride, 1, 1, false}, rng);
  p.bn1 = std::make_shared<BatchNorm2d>(out);
  p.act1 = make_activation(act);
  p.conv2 = std::make_shared<Conv2d>(Conv2dOptions{out, out, 3, 3, 1, 1, 1, false}, rng);
  p.bn2 = std::make_shared<BatchNorm2d>(out);
  p.shortcut = BasicBlock::make_shortcut(in, out, stride);
  p.act2 = make_activation(act);
  return p;
}
}  // namespace

BasicBlock::BasicBlock(int in_channels, int out_channels, int stride, Rng& rng, Activation act)
    : BasicBlock(fp32_parts(in_channels, out_channels, stride, rng, act)) {}

// With a BatchNorm child that is neither observed nor tapped (nn/taps.h), bn1 → act1 and bn2 → + shortcut → act2 each run as one batch_norm op
// with an epilogue when the activation is one it computes (ReLU, HardTanh, Clip, Identity): the same values and
// gradients, with two passes over memory fewer per block. Another act2 (a quantizer) is applied after the fused
// BN + shortcut.
Var BasicBlock::forward(const Var& x) {
  Var y = call_child(0, x);
  BatchNormEpilogue e1;
  if (BatchNorm* bn1 = fusable_batch_norm(child(1)); bn1 && activation_epilogue(child(2), e1))
  {
    y = call_child_with(1, [&](Module&) { return bn1->forward_fused(y, e1); });
    child(2).record_output(y);
  } else
    y = call_child(2, call_child(1, y));
  y = call_child(3, y);
  Var s = call_child(5, x);
  LOWBIT_CHECK(s.shape() == y.shape(), "BasicBlock: shortcut output {} does not match the residual branch {}",
               s.shape().str(), y.shape().str());
  if (BatchNorm* bn2 = fusable_batch_norm(child(4))) {
    BatchNormEpilogue e2;
    e2.residual = s;
    const bool act_fused = activation_epilogue(child(6), e2);
    y = call_child_with(4, [&](Module&) { return bn2->forward_fused(y, e2); });
    if (!act_fused) return call_child(6, y);
    child(6).record_output(y);
    return y;
  }
  return call_child(6, add(call_child(4, y), s));
}

}  // namespace lowbit::nn
