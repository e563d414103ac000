// LeNet-5, the variant for quantized training:
//   conv1 6@5×5 pad 2 → BN → act → maxpool 2
//   conv2 16@5×5      → BN → act → maxpool 2
//   fc1 120 → BN → act → fc2 84 → BN → act → fc3 num_classes
// Differences from LeCun 1998: max pooling instead of subsampling, BatchNorm after every hidden weight layer
// (as BNN/DoReFa-style training needs), so those layers carry no bias (BN's β replaces it); only fc3 has a
// bias. With a 1×28×28 input the map before fc1 is 16×5×5 (61,932 parameters); with 3×32×32 it is 16×6×6.
#include "nn/layers/pool.h"
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_lenet5(const ModelOptions& o) {
  ZooBuilder b("lenet5", o);
  auto net = std::make_shared<Sequential>("LeNet5");
  net->add("conv1", b.conv("conv1", 6, 5, 1, 2)).add("bn1", b.bn2d()).add("act1", b.act());
  b.maybe_pool(*net, "pool1");
  net->add("conv2", b.conv("conv2", 16, 5, 1, 0)).add("bn2", b.bn2d()).add("act2", b.act());
  b.maybe_pool(*net, "pool2");
  net->add("flatten", std::make_shared<Flatten>());
  const int flat = b.c() * b.h() * b.w();
  b.maybe_dropout(*net, "drop1");
  net->add("fc1", b.linear("fc1", flat, 120, false, false)).add("bn3", b.bn1d(120)).add("act3", b.act());
  b.maybe_dropout(*net, "drop2");
  net->add("fc2", b.linear("fc2", 120, 84, false, false)).add("bn4", b.bn1d(84)).add("act4", b.act());
  net->add("fc3", b.linear("fc3", 84, o.num_classes, true, true));
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
