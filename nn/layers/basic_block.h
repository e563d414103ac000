// Residual BasicBlock of the CIFAR ResNets (He et al. 2016, §4.2):
//
//   y = act2( bn2(conv2( act1(bn1(conv1(x))) )) + shortcut(x) )
//
// conv1 is 3×3 with the block's stride, conv2 3×3 stride 1, both without bias (BN follows).
// Shortcut: option A of the paper, the one its CIFAR ResNet-20/32/56 use — parameter-free: when the block
// changes shape, the input is subsampled with the block's stride (x[:, :, ::s, ::s]) and zero channels are
// appended on both sides to reach the output width; otherwise it is the identity. We pick A because it adds no
// weight layer, so every weight layer a precision config can name is a 3×3 conv or the classifier, and the
// parameter count matches the paper (ResNet-20: 0.27 M).
//
// The parts are passed in, so the zoo can build the convolutions through a layer factory (quantized layers);
// forward goes through the registered children, so replace_child() works.
#pragma once
#include "engine/rng.h"
#include "nn/layers/activation.h"
#include "nn/module.h"

namespace lowbit::nn {

// Option-A shortcut: y[:, c + pad_front, i, j] = x[:, c, i·s, j·s], zeros in the other channels.
class ShortcutA final : public Module {
 public:
  ShortcutA(int in_channels, int out_channels, int stride);
  Var forward(const Var& x) override;
  std::string describe() const override;

 private:
  int in_, out_, stride_;
};

struct BasicBlockParts {
  ModulePtr conv1, bn1, act1, conv2, bn2, shortcut, act2;
};

class BasicBlock final : public Module {
 public:
  explicit BasicBlock(BasicBlockParts parts);
  // An fp32 block with fresh Conv2d/BatchNorm2d layers and the given activation.
  BasicBlock(int in_channels, int out_channels, int stride, Rng& rng, Activation act = Activation::relu);
  Var forward(const Var& x) override;

  // The shortcut a block from in to out channels with this stride needs (Identity or ShortcutA).
  static ModulePtr make_shortcut(int in_channels, int out_channels, int stride);
};

}  // namespace lowbit::nn
