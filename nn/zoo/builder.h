// Internal helper the zoo's model files share: creates weight layers through the factory with full dotted
// names and first/last flags, tracks the feature-map size so FC widths follow the input shape, and checks
// at the end that every spec name resolves to the layer made for it.
#pragma once
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/rng.h"
#include "nn/layers/sequential.h"
#include "nn/zoo/zoo.h"

namespace lowbit::nn::zoo_detail {

class ZooBuilder {
 public:
  ZooBuilder(std::string model, const ModelOptions& o);

  // Weight layers. Convolutions update the tracked map size (c, h, w).
  ModulePtr conv(const std::string& name, int out, int kernel, int stride, int pad, int groups = 1,
                 bool bias = false);
  ModulePtr linear(const std::string& name, int in, int out, bool bias, bool last);
  ModulePtr bn2d() const;
  ModulePtr bn1d(int features) const;
  ModulePtr act() const { return make_activation(o_.activation); }
  // Adds "drop<k>" to seq when options.dropout > 0.
  void maybe_dropout(Sequential& seq, const std::string& name);
  // 2×2 max pool, stride 2; skipped (returns false) when the map is already smaller than 2×2, so deep VGGs
  // still take 28×28 inputs.
  bool maybe_pool(Sequential& seq, const std::string& name);

  // Blocks several models share (names as in the model files' comments).
  // conv<k> → bn<k> → act<k>: the unit of the plain conv stacks (LeNet, AlexNet, VGG) and of the stems.
  void conv_bn_act(Sequential& seq, int k, int out, int kernel, int stride, int pad);
  // The LeNet / AlexNet classifier: flatten, then for each hidden width i = 1, 2, ...: drop<i> (when dropout is
  // on) → fc<i> → bn<first_bn + i − 1> → act<first_bn + i − 1>; then fc<hidden + 1> to the classes (last layer).
  void mlp_head(Sequential& seq, int first_bn, std::initializer_list<int> hidden);
  // The ResNet / MobileNet head: pool (global average) → drop (when dropout is on) → fc to the classes.
  void global_pool_head(Sequential& seq);

  int c() const { return c_; }
  int h() const { return h_; }
  int w() const { return w_; }
  void set_channels(int c) { c_ = c; }
  const ModelOptions& options() const { return o_; }
  Rng& rng() { return rng_; }
  // Checks the specs against the finished model (names resolve, exactly one last layer).
  void finish(const Module& root) const;

 private:
  ModulePtr make(const LayerSpec& spec);

  std::string model_;
  const ModelOptions& o_;
  Rng rng_;
  int c_, h_, w_;
  int count_ = 0, dropouts_ = 0;
  std::vector<std::pair<std::string, const Module*>> made_;
  bool saw_last_ = false;
};

}  // namespace lowbit::nn::zoo_detail
