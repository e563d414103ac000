// VGG-style nets: 3×3 pad-1 convolutions, each followed by BN and the activation, 2×2 max pools ("M"), then
// flatten and one FC classifier (as in the DCQ code's vgg_cifar.py). Convs carry no bias (BN follows).
//   vgg_small: 32-32-M-64-64-M-128-128-M-256-M — the small SVHN net of DoReFa/DCQ.
//              28×28: 28→14→7→3→1, FC 256→classes; 32×32: 32→16→8→4→2, FC 1024→classes.
//   vgg11:     64-M-128-M-256-256-M-512-512-M-512-512-M (CIFAR VGG-11, FC 512→classes at 32×32). At 28×28
//              the fifth pool would shrink a 1×1 map to nothing, so it is skipped (28→14→7→3→1).
// Names: conv<k>, bn<k>, act<k> for the k-th conv (1-based), pool<j>, flatten, fc.
#include <vector>

#include "nn/layers/pool.h"
#include "nn/layers/sequential.h"
#include "nn/zoo/builder.h"
#include "nn/zoo/models.h"

namespace lowbit::nn::zoo_detail {

namespace {
constexpr int M = 0;  // max pool in a config list

std::shared_ptr<Module> build_vgg(const std::string& model, const std::string& type, const std::vector<int>& cfg,
                                  const ModelOptions& o) {
  ZooBuilder b(model, o);
  auto net = std::make_shared<Sequential>(type);
  int conv = 0, pool = 0;
  for (int v : cfg) {
    if (v == M) {
      b.maybe_pool(*net, "pool" + std::to_string(++pool));
      continue;
    }
    b.conv_bn_act(*net, ++conv, v, 3, 1, 1);
  }
  net->add("flatten", std::make_shared<Flatten>());
  b.maybe_dropout(*net, "drop");
  net->add("fc", b.linear("fc", b.c() * b.h() * b.w(), o.num_classes, true, true));
  b.finish(*net);
  return net;
}
}  // namespace

std::shared_ptr<Module> build_vgg_small(const ModelOptions& o) {
  return build_vgg("vgg_small", "VGGSmall", {32, 32, M, 64, 64, M, 128, 128, M, 256, M}, o);
}

std::shared_ptr<Module> build_vgg11(const ModelOptions& o) {
  return build_vgg("vgg11", "VGG11", {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}, o);
}

}  // namespace lowbit::nn::zoo_detail
