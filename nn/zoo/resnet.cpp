// CIFAR ResNet of depth 6n+2 (He et al. 2016, §4.2): conv1 3×3@16 → BN → act, then three stages of n
// BasicBlocks with 16, 32, 64 channels (stages 2 and 3 start with stride 2), global average pooling and one
// FC. Shortcuts are option A (parameter-free, see nn/layers/basic_block.h). Depth 20 → n = 3: 269,722
// parameters for 3×32×32 input (0.27 M as in the paper). 28×28 inputs give 28 → 14 → 7 maps.
// Names: conv1, bn1, act1, layer{1,2,3}.{0..n-1}.{conv1,bn1,act1,conv2,bn2,shortcut,act2}, pool, fc.
#include "engine/error.h"
#include "nn/layers/basic_block.h"
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_resnet(int depth, const ModelOptions& o) {
  LOWBIT_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "resnet: depth must be 6n+2 with n >= 1 (8, 20, 32, 56), got {}",
               depth);
  const int n = (depth - 2) / 6;
  const std::string model = "resnet" + std::to_string(depth);
  ZooBuilder b(model, o);
  auto net = std::make_shared<Sequential>("ResNet" + std::to_string(depth));
  b.conv_bn_act(*net, 1, 16, 3, 1, 1);
  const int widths[3] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    const std::string sname = "layer" + std::to_string(stage + 1);
    auto seq = std::make_shared<Sequential>();
    for (int i = 0; i < n; ++i) {
      const std::string prefix = sname + "." + std::to_string(i) + ".";
      const int in = b.c(), out = widths[stage], stride = (stage > 0 && i == 0) ? 2 : 1;
      BasicBlockParts p;
      p.conv1 = b.conv(prefix + "conv1", out, 3, stride, 1);
      p.bn1 = b.bn2d();
      p.act1 = b.act();
      p.conv2 = b.conv(prefix + "conv2", out, 3, 1, 1);
      p.bn2 = b.bn2d();
      p.shortcut = BasicBlock::make_shortcut(in, out, stride);
      p.act2 = b.act();
      seq->add(std::make_shared<BasicBlock>(std::move(p)));
    }
    net->add(sname, seq);
  }
  b.global_pool_head(*net);
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
