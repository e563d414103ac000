// AlexNet, CIFAR variant (five convs, three FCs, sized for 32×32 / 28×28 inputs):
//   conv1 64@5×5 p2 → BN → act → maxpool 2
//   conv2 192@5×5 p2 → BN → act → maxpool 2
//   conv3 384@3×3 p1 → BN → act, conv4 256@3×3 p1 → BN → act, conv5 256@3×3 p1 → BN → act → maxpool 2
//   flatten → fc1 512 → BN → act → fc2 512 → BN → act → fc3 num_classes
// BN after every hidden weight layer as in the AlexNet-BN of DoReFa/DCQ, so those layers have no bias. The
// ImageNet net's 11×11 stride-4 stem and 4096-wide FCs are scaled down for small inputs.
#include "nn/layers/pool.h"
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_alexnet(const ModelOptions& o) {
  ZooBuilder b("alexnet", o);
  auto net = std::make_shared<Sequential>("AlexNet");
  net->add("conv1", b.conv("conv1", 64, 5, 1, 2)).add("bn1", b.bn2d()).add("act1", b.act());
  b.maybe_pool(*net, "pool1");
  net->add("conv2", b.conv("conv2", 192, 5, 1, 2)).add("bn2", b.bn2d()).add("act2", b.act());
  b.maybe_pool(*net, "pool2");
  net->add("conv3", b.conv("conv3", 384, 3, 1, 1)).add("bn3", b.bn2d()).add("act3", b.act());
  net->add("conv4", b.conv("conv4", 256, 3, 1, 1)).add("bn4", b.bn2d()).add("act4", b.act());
  net->add("conv5", b.conv("conv5", 256, 3, 1, 1)).add("bn5", b.bn2d()).add("act5", b.act());
  b.maybe_pool(*net, "pool3");
  net->add("flatten", std::make_shared<Flatten>());
  const int flat = b.c() * b.h() * b.w();
  b.maybe_dropout(*net, "drop1");
  net->add("fc1", b.linear("fc1", flat, 512, false, false)).add("bn6", b.bn1d(512)).add("act6", b.act());
  b.maybe_dropout(*net, "drop2");
  net->add("fc2", b.linear("fc2", 512, 512, false, false)).add("bn7", b.bn1d(512)).add("act7", b.act());
  net->add("fc3", b.linear("fc3", 512, o.num_classes, true, true));
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
