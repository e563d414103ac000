// Model zoo: LeNet-5, CIFAR ResNet-(6n+2), VGG-small (the DoReFa/DCQ SVHN net), VGG-11, AlexNet and
// MobileNet-v1 in their CIFAR variants, each built for the input shape in ModelOptions (1×28×28 and 3×32×32
// both work). Every model is a Sequential whose top-level children are named stages ("conv1", "layer2",
// "fc"), so weight layers have stable dotted names ("layer2.0.conv1") that a precision config can match by
// name or glob, and sectional methods can run a model stage by stage (Sequential::forward_range).
//
// Substitution hook: every weight layer (Conv2d or Linear) is created by ModelOptions::make_layer from a
// LayerSpec, so quant/ can build QConv2d/QLinear per layer without nn depending on quant. BatchNorm,
// activations and pooling are always nn layers.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "nn/layers/activation.h"
#include "nn/module.h"

namespace lowbit::nn {

struct LayerSpec {
  enum class Kind { conv, linear };
  std::string name;  // full dotted name the layer gets in the model, e.g. "layer2.0.conv1"
  Kind kind = Kind::conv;
  int in = 0, out = 0;  // channels (conv) or features (linear)
  int kernel_h = 1, kernel_w = 1, stride = 1, pad = 0, groups = 1;  // conv geometry; 1/1/1/0/1 for linear
  int in_h = 1, in_w = 1;  // input map size the layer sees in this model (1×1 for linear): for cost models
  bool bias = false;
  bool first = false, last = false;  // first / last weight layer of the network (methods often keep them fp32)
  int index = 0;                     // position among the model's weight layers, 0-based
};

using LayerFactory = std::function<ModulePtr(const LayerSpec&, Rng&)>;

struct ModelOptions {
  int in_channels = 1, height = 28, width = 28, num_classes = 10;
  Activation activation = Activation::relu;  // hidden activations
  uint64_t seed = 1;                         // initialisation (and dropout streams)
  float dropout = 0.0f;                      // before the classifier's FC layers when > 0
  LayerFactory make_layer;                   // null: fp32 Conv2d / Linear (default_make_layer)
};

// The fp32 layer for a spec: Conv2d or Linear with PyTorch default init from rng.
ModulePtr default_make_layer(const LayerSpec& spec, Rng& rng);

// Builds a model by name; throws lowbit::Error listing the valid names, or naming the input shape a model
// cannot take. ResNets: "resnet8/20/32/56" (any depth 6n+2 is accepted).
std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& options);
std::vector<std::string> model_names();

// Glob match on dotted names for precision configs, by fnmatch(3) with no flags: '*' matches any run of
// characters (dots included), '?' one character, "[0-3]" / "[!0]" one character of (not of) a set, and a
// backslash quotes the next character. "layer*.conv1" matches "layer2.0.conv1"; "layer[12].*" matches "layer1.0.conv1".
bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace lowbit::nn
