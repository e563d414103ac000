#include "nn/zoo/builder.h"

#include "engine/error.h"
#include "nn/layers/batchnorm.h"
#include "nn/layers/dropout.h"
#include "nn/layers/pool.h"

namespace lowbit::nn::zoo_detail {

ZooBuilder::ZooBuilder(std::string model, const ModelOptions& o)
    : model_(std::move(model)), o_(o), rng_(o.seed), c_(o.in_channels), h_(o.height), w_(o.width) {
  LOWBIT_CHECK(o.in_channels > 0 && o.height > 0 && o.width > 0 && o.num_classes > 0,
               "model '{}': input {}x{}x{} with {} classes is invalid (all must be positive)", model_,
               o.in_channels, o.height, o.width, o.num_classes);
  LOWBIT_CHECK(o.dropout >= 0.0f && o.dropout < 1.0f, "model '{}': dropout must be in [0, 1), got {}", model_,
               o.dropout);
}

ModulePtr ZooBuilder::make(const LayerSpec& spec) {
  LOWBIT_CHECK(!saw_last_, "model '{}': weight layer '{}' comes after the layer marked last", model_, spec.name);
  ModulePtr m = o_.make_layer ? o_.make_layer(spec, rng_) : default_make_layer(spec, rng_);
  LOWBIT_CHECK(m != nullptr, "model '{}': the layer factory returned null for '{}'", model_, spec.name);
  made_.emplace_back(spec.name, m.get());
  saw_last_ = spec.last;
  ++count_;
  return m;
}

ModulePtr ZooBuilder::conv(const std::string& name, int out, int kernel, int stride, int pad, int groups,
                           bool bias) {
  const int oh = (h_ + 2 * pad - kernel) / stride + 1, ow = (w_ + 2 * pad - kernel) / stride + 1;
  LOWBIT_CHECK(h_ + 2 * pad >= kernel && w_ + 2 * pad >= kernel && oh > 0 && ow > 0,
               "model '{}' cannot take input {}x{}x{}: layer '{}' ({}x{} kernel) would see a {}x{} map", model_,
               o_.in_channels, o_.height, o_.width, name, kernel, kernel, h_, w_);
  LayerSpec s;
  s.name = name;
  s.kind = LayerSpec::Kind::conv;
  s.in = c_;
  s.out = out;
  s.kernel_h = s.kernel_w = kernel;
  s.stride = stride;
  s.pad = pad;
  s.groups = groups;
  s.in_h = h_;
  s.in_w = w_;
  s.bias = bias;
  s.first = count_ == 0;
  s.index = count_;
  ModulePtr m = make(s);
  c_ = out;
  h_ = oh;
  w_ = ow;
  return m;
}

ModulePtr ZooBuilder::linear(const std::string& name, int in, int out, bool bias, bool last) {
  LayerSpec s;
  s.name = name;
  s.kind = LayerSpec::Kind::linear;
  s.in = in;
  s.out = out;
  s.bias = bias;
  s.first = count_ == 0;
  s.last = last;
  s.index = count_;
  return make(s);
}

ModulePtr ZooBuilder::bn2d() const { return std::make_shared<BatchNorm2d>(c_); }
ModulePtr ZooBuilder::bn1d(int features) const { return std::make_shared<BatchNorm1d>(features); }

void ZooBuilder::maybe_dropout(Sequential& seq, const std::string& name) {
  if (o_.dropout <= 0.0f) return;
  // Each dropout layer gets its own stream forked from the seed, independent of how many weights exist.
  seq.add(name, std::make_shared<Dropout>(o_.dropout, Rng(o_.seed).fork(0xD0D0ULL + uint64_t(dropouts_++))));
}

bool ZooBuilder::maybe_pool(Sequential& seq, const std::string& name) {
  if (h_ < 2 || w_ < 2) return false;
  seq.add(name, std::make_shared<MaxPool2d>(2, 2));
  h_ /= 2;
  w_ /= 2;
  return true;
}

void ZooBuilder::conv_bn_act(Sequential& seq, int k, int out, int kernel, int stride, int pad) {
  const std::string n = std::to_string(k);
  seq.add("conv" + n, conv("conv" + n, out, kernel, stride, pad)).add("bn" + n, bn2d()).add("act" + n, act());
}

void ZooBuilder::mlp_head(Sequential& seq, int first_bn, std::initializer_list<int> hidden) {
  seq.add("flatten", std::make_shared<Flatten>());
  int in = c_ * h_ * w_, i = 1;
  for (int out : hidden) {
    const std::string n = std::to_string(i), bn = std::to_string(first_bn + i - 1);
    maybe_dropout(seq, "drop" + n);
    seq.add("fc" + n, linear("fc" + n, in, out, false, false)).add("bn" + bn, bn1d(out)).add("act" + bn, act());
    in = out;
    ++i;
  }
  const std::string fc = "fc" + std::to_string(i);
  seq.add(fc, linear(fc, in, o_.num_classes, true, true));
}

void ZooBuilder::global_pool_head(Sequential& seq) {
  seq.add("pool", std::make_shared<GlobalAvgPool>());
  maybe_dropout(seq, "drop");
  seq.add("fc", linear("fc", c_, o_.num_classes, true, true));
}

void ZooBuilder::finish(const Module& root) const {
  LOWBIT_ASSERT(saw_last_, "model '{}': no weight layer was marked last", model_);
  for (const auto& m : made_)
    LOWBIT_ASSERT(&root.find(m.first) == m.second, "model '{}': layer spec '{}' does not name the layer made for it",
                  model_, m.first);
}

}  // namespace lowbit::nn::zoo_detail
