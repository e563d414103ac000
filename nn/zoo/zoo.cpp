#include "nn/zoo/zoo.h"

#include <fnmatch.h>

#include <cctype>

#include "engine/error.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "nn/zoo/models.h"

namespace lowbit::nn {

ModulePtr default_make_layer(const LayerSpec& s, Rng& rng) {
  if (s.kind == LayerSpec::Kind::linear) return std::make_shared<Linear>(s.in, s.out, rng, s.bias);
  return std::make_shared<Conv2d>(Conv2dOptions{s.in, s.out, s.kernel_h, s.kernel_w, s.stride, s.pad, s.groups, s.bias},
                                  rng);
}

std::vector<std::string> model_names() {
  return {"lenet5", "resnet8", "resnet20", "resnet32", "resnet56", "vgg_small", "vgg11", "alexnet", "mobilenet_v1"};
}

std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& o) {
  using namespace zoo_detail;
  if (name == "lenet5") return build_lenet5(o);
  if (name == "vgg_small") return build_vgg_small(o);
  if (name == "vgg11") return build_vgg11(o);
  if (name == "alexnet") return build_alexnet(o);
  if (name == "mobilenet_v1") return build_mobilenet_v1(o);
  if (name.size() > 6 && name.compare(0, 6, "resnet") == 0 && name.size() <= 9) {
    bool digits = true;
    for (size_t i = 6; i < name.size(); ++i) digits = digits && std::isdigit(static_cast<unsigned char>(name[i]));
    if (digits) return build_resnet(std::stoi(name.substr(6)), o);
  }
  std::string valid;
  for (const auto& n : model_names()) valid += (valid.empty() ? "" : ", ") + n;
  LOWBIT_CHECK(false, "unknown model '{}' (valid: {})", name, valid);
  return nullptr;
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // fnmatch(3) without FNM_PATHNAME / FNM_PERIOD: '*' and '?' also match '.', so "layer*" covers "layer2.0.conv1".
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace lowbit::nn
