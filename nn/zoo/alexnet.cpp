// AlexNet, CIFAR variant (five convs, three FCs, sized for 32×32 / 28×28 inputs):
//   conv1 64@5×5 p2 → BN → act → maxpool 2
//   conv2 192@5×5 p2 → BN → act → maxpool 2
//   conv3 384@3×3 p1 → BN → act, conv4 256@3×3 p1 → BN → act, conv5 256@3×3 p1 → BN → act → maxpool 2
//   flatten → fc1 512 → BN → act → fc2 512 → BN → act → fc3 num_classes
// BN after every hidden weight layer as in the AlexNet-BN of DoReFa/DCQ, so those layers have no bias. The
// ImageNet net's 11×11 stride-4 stem and 4096-wide FCs are scaled down for small inputs.
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_alexnet(const ModelOptions& o) {
  ZooBuilder b("alexnet", o);
  auto net = std::make_shared<Sequential>("AlexNet");
  b.conv_bn_act(*net, 1, 64, 5, 1, 2);
  b.maybe_pool(*net, "pool1");
  b.conv_bn_act(*net, 2, 192, 5, 1, 2);
  b.maybe_pool(*net, "pool2");
  b.conv_bn_act(*net, 3, 384, 3, 1, 1);
  b.conv_bn_act(*net, 4, 256, 3, 1, 1);
  b.conv_bn_act(*net, 5, 256, 3, 1, 1);
  b.maybe_pool(*net, "pool3");
  b.mlp_head(*net, /*first_bn=*/6, {512, 512});
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
