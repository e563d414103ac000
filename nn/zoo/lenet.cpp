// LeNet-5, the variant for quantized training:
//   conv1 6@5×5 pad 2 → BN → act → maxpool 2
//   conv2 16@5×5      → BN → act → maxpool 2
//   fc1 120 → BN → act → fc2 84 → BN → act → fc3 num_classes
// Differences from LeCun 1998: max pooling instead of subsampling, BatchNorm after every hidden weight layer
// (as BNN/DoReFa-style training needs), so those layers carry no bias (BN's β replaces it); only fc3 has a
// bias. With a 1×28×28 input the map before fc1 is 16×5×5 (61,932 parameters); with 3×32×32 it is 16×6×6.
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

std::shared_ptr<Module> build_lenet5(const ModelOptions& o) {
  ZooBuilder b("lenet5", o);
  auto net = std::make_shared<Sequential>("LeNet5");
  b.conv_bn_act(*net, 1, 6, 5, 1, 2);
  b.maybe_pool(*net, "pool1");
  b.conv_bn_act(*net, 2, 16, 5, 1, 0);
  b.maybe_pool(*net, "pool2");
  b.mlp_head(*net, /*first_bn=*/3, {120, 84});
  b.finish(*net);
  return net;
}

}  // namespace lowbit::nn::zoo_detail
