// MobileNet-v1, CIFAR variant (width 1.0): conv1 3×3@32 stride 1 → BN → act, then 13 depthwise-separable
// blocks (3×3 depthwise conv with the block's stride → BN → act → 1×1 pointwise conv → BN → act) with
// (out, stride) = (64,1) (128,2) (128,1) (256,2) (256,1) (512,2) (512,1)×5 (1024,2) (1024,1), global average
// pooling and one FC. The ImageNet stem's stride 2 is dropped for 32×32 inputs (32→16→8→4→2; 28→14→7→4→2).
// Names: conv1, bn1, act1, block<k>.{dw,bn1,act1,pw,bn2,act2} (k = 1..13), pool, fc.
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_mobilenet_v1(const ModelOptions& o) {
  ZooBuilder b("mobilenet_v1", o);
  auto net = std::make_shared<Sequential>("MobileNetV1");
  b.conv_bn_act(*net, 1, 32, 3, 1, 1);
  const int cfg[13][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
                          {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  for (int k = 0; k < 13; ++k) {
    const std::string name = "block" + std::to_string(k + 1);
    auto blk = std::make_shared<Sequential>("DepthwiseSeparable");
    const int in = b.c();
    blk->add("dw", b.conv(name + ".dw", in, 3, cfg[k][1], 1, /*groups=*/in)).add("bn1", b.bn2d()).add("act1", b.act());
    blk->add("pw", b.conv(name + ".pw", cfg[k][0], 1, 1, 0)).add("bn2", b.bn2d()).add("act2", b.act());
    net->add(name, blk);
  }
  b.global_pool_head(*net);
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
