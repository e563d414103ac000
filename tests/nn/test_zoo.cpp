// Model zoo: every model on 1×28×28 and 3×32×32 (shape, backward), hand-derived parameter counts and MACs,
// the layer-factory substitution hook and name matching.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <set>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "nn/summary.h"
#include "nn/zoo/zoo.h"

using namespace lowbit;
using namespace lowbit::nn;

namespace {
// These tests check model structure, not threading (the engine's tests cover that). One thread keeps them
// fast when ctest runs several test processes at once on a small machine, where OpenMP teams oversubscribe.
struct SingleThread {
  int prev = num_threads();
  SingleThread() { set_num_threads(1); }
  ~SingleThread() { set_num_threads(prev); }
};

ModelOptions opts(int c, int hw) {
  ModelOptions o;
  o.in_channels = c;
  o.height = o.width = hw;
  return o;
}

// Forward a batch of 2, check [2, 10], backward, every parameter gets a gradient.
void forward_backward(const std::string& name, int c, int hw) {
  CAPTURE(name);
  CAPTURE(hw);
  SingleThread one;
  auto model = make_model(name, opts(c, hw));
  Tensor x(Shape{2, c, hw, hw});
  Rng rng(11);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
  Var y = (*model)(Var(x));
  REQUIRE(y.shape() == Shape{2, 10});
  for (float v : y.value().to_vector()) REQUIRE(std::isfinite(v));
  cross_entropy(y, {3, 7}).backward();
  for (auto& p : model->named_parameters()) CHECK_MESSAGE(p.second.has_grad(), p.first);
}
}  // namespace

TEST_CASE("zoo: model_names lists every buildable model") {
  const auto names = model_names();
  CHECK(names.size() == 9);
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  CHECK_THROWS_WITH_AS(make_model("resnet18", opts(1, 28)), doctest::Contains("depth must be 6n+2"), Error);
  CHECK_THROWS_WITH_AS(make_model("nope", opts(1, 28)), doctest::Contains("valid: lenet5, resnet8"), Error);
  CHECK_THROWS_WITH_AS(make_model("lenet5", opts(1, 6)), doctest::Contains("cannot take input 1x6x6"), Error);
  CHECK_THROWS_AS(make_model("lenet5", opts(0, 28)), Error);
  // Non-square inputs are sized correctly.
  ModelOptions wide = opts(1, 28);
  wide.width = 36;
  CHECK((*make_model("lenet5", wide))(Var(Tensor::ones(Shape{2, 1, 28, 36}))).shape() == Shape{2, 10});
  // A wrong input shape is reported with the dotted name of the layer that refused it.
  auto r = make_model("resnet8", opts(3, 32));
  r->replace_child("layer2", make_model("resnet8", opts(3, 32))->children()[3].second);  // layer1: 16 channels out
  CHECK_THROWS_WITH_AS((*r)(Var(Tensor::ones(Shape{2, 3, 32, 32}))),
                       doctest::Contains("layer3.0.conv1: Conv2d: expected input [N, 32, H, W], got [2, 16, 32, 32]"),
                       ForwardError);
  CHECK_THROWS_WITH_AS((*make_model("lenet5", opts(1, 28)))(Var(Tensor::ones(Shape{2, 3, 28, 28}))),
                       doctest::Contains("conv1: Conv2d: expected input [N, 1, H, W]"), Error);
}

// One test case per model so ctest can run them in parallel (model_names() lists the same nine: see the first
// test case).
#define ZOO_FORWARD_BACKWARD_TEST(model)                                  \
  TEST_CASE("zoo: " model " forward/backward on 1x28x28 and 3x32x32") { \
    forward_backward(model, 1, 28);                                       \
    forward_backward(model, 3, 32);                                       \
  }
ZOO_FORWARD_BACKWARD_TEST("lenet5")
ZOO_FORWARD_BACKWARD_TEST("resnet8")
ZOO_FORWARD_BACKWARD_TEST("resnet20")
ZOO_FORWARD_BACKWARD_TEST("resnet32")
ZOO_FORWARD_BACKWARD_TEST("resnet56")
ZOO_FORWARD_BACKWARD_TEST("vgg_small")
ZOO_FORWARD_BACKWARD_TEST("vgg11")
ZOO_FORWARD_BACKWARD_TEST("alexnet")
ZOO_FORWARD_BACKWARD_TEST("mobilenet_v1")

TEST_CASE("zoo: parameter counts match hand derivations") {
  // LeNet-5 at 1×28×28: conv1 6·1·25 + BN 12, conv2 16·6·25 + BN 32, fc1 400·120 + BN 240,
  // fc2 120·84 + BN 168, fc3 84·10 + 10.
  CHECK(make_model("lenet5", opts(1, 28))->num_parameters() ==
        150 + 12 + 2400 + 32 + 48000 + 240 + 10080 + 168 + 850);
  // At 3×32×32 conv1 has 3·6·25 weights and fc1 sees 16·6·6 = 576 features.
  CHECK(make_model("lenet5", opts(3, 32))->num_parameters() ==
        450 + 12 + 2400 + 32 + 576 * 120 + 240 + 10080 + 168 + 850);
  // ResNet-20 at 3×32×32: stem 3·16·9 + BN 32;
  // stage 1: 3 blocks × (2·16·16·9 + 2·32); stage 2: 16·32·9 + 32·32·9 + 128, then 2 × (2·32·32·9 + 128);
  // stage 3: 32·64·9 + 64·64·9 + 256, then 2 × (2·64·64·9 + 256); fc 64·10 + 10.
  const int64_t stage1 = 3 * (2 * 16 * 16 * 9 + 64);
  const int64_t stage2 = (16 * 32 * 9 + 32 * 32 * 9 + 128) + 2 * (2 * 32 * 32 * 9 + 128);
  const int64_t stage3 = (32 * 64 * 9 + 64 * 64 * 9 + 256) + 2 * (2 * 64 * 64 * 9 + 256);
  const int64_t resnet20 = 432 + 32 + stage1 + stage2 + stage3 + 650;
  CHECK(resnet20 == 269722);  // the paper's 0.27 M
  CHECK(make_model("resnet20", opts(3, 32))->num_parameters() == resnet20);
  CHECK(make_model("resnet20", opts(1, 28))->num_parameters() == resnet20 - 2 * 16 * 9);
}

TEST_CASE("zoo: LeNet-5 summary MACs equal the hand computation") {
  auto model = make_model("lenet5", opts(1, 28));
  model->train();
  const auto running_before = model->named_buffers()[0].second.to_vector();
  const ModelSummary s = summarize(*model, Shape{1, 28, 28});
  // conv1: 28·28·6 outputs × 25; conv2: 10·10·16 × 150; fc1 400·120; fc2 120·84; fc3 84·10.
  const int64_t conv1 = 28 * 28 * 6 * 25, conv2 = 10 * 10 * 16 * 150;
  CHECK(s.total_macs == conv1 + conv2 + 48000 + 10080 + 840);
  CHECK(s.total_macs == 416520);
  CHECK(s.total_params == model->num_parameters());
  CHECK(s.output == Shape{1, 10});
  bool found_conv2 = false;
  for (const auto& l : s.layers) {
    if (l.name == "conv2") {
      found_conv2 = true;
      CHECK(l.type == "Conv2d");
      CHECK(l.out_shape == Shape{1, 16, 10, 10});
      CHECK(l.macs == conv2);
      CHECK(l.params == 2400);
      CHECK(l.info == "5x5 s1 p0 nobias");
    }
    if (l.name == "pool2") CHECK(l.out_shape == Shape{1, 16, 5, 5});
  }
  CHECK(found_conv2);
  const std::string table = s.table();
  CHECK(table.find("fc1") != std::string::npos);
  CHECK(table.find("416,520 MACs") != std::string::npos);
  CHECK(table.find("61,932 parameters") != std::string::npos);
  // The summary ran in eval mode and restored training mode; BN statistics untouched.
  CHECK(model->is_training());
  for (auto& m : model->named_modules()) CHECK(m.second->is_training());
  CHECK(model->named_buffers()[0].second.to_vector() == running_before);
}

TEST_CASE("zoo: every model prints a summary whose MACs are positive") {
  SingleThread one;
  for (const auto& name : model_names()) {
    CAPTURE(name);
    auto model = make_model(name, opts(3, 32));
    const ModelSummary s = summarize(*model, Shape{3, 32, 32});
    CHECK(s.total_macs > 0);
    CHECK(s.output == Shape{1, 10});
    CHECK(s.table().find("total:") != std::string::npos);
  }
  // ResNet-20 on 3×32×32 (≈ 41 M, as commonly quoted): stem 32²·16·27; stage 1: 6 convs of 32²·16·144;
  // stage 2: 16²·32·144 then 5 × 16²·32·288; stage 3: 8²·64·288 then 5 × 8²·64·576; fc 640.
  const int64_t stem = 1024 * 16 * 27, s1 = 6 * 1024 * 16 * 144;
  const int64_t s2 = 256 * 32 * 144 + 5 * 256 * 32 * 288, s3 = 64 * 64 * 288 + 5 * 64 * 64 * 576;
  const ModelSummary r = summarize(*make_model("resnet20", opts(3, 32)), Shape{3, 32, 32});
  CHECK(r.total_macs == stem + s1 + s2 + s3 + 640);
}

TEST_CASE("zoo: the layer factory is called once per weight layer with first/last flags") {
  SingleThread one;
  struct Tagged : Conv2d {
    Tagged(const LayerSpec& s, Rng& rng)
        : Conv2d("TaggedConv", Conv2dOptions{s.in, s.out, s.kernel_h, s.kernel_w, s.stride, s.pad, s.groups, s.bias},
                 rng) {}
  };
  for (const std::string name : {"lenet5", "resnet20", "mobilenet_v1", "vgg11"}) {
    CAPTURE(name);
    std::vector<LayerSpec> specs;
    ModelOptions o = opts(3, 32);
    o.make_layer = [&](const LayerSpec& s, Rng& rng) -> ModulePtr {
      specs.push_back(s);
      if (s.kind == LayerSpec::Kind::conv) return std::make_shared<Tagged>(s, rng);
      return default_make_layer(s, rng);
    };
    auto model = make_model(name, o);
    // One call per Conv2d/Linear in the model, in order, names resolving to the layer made.
    int weight_layers = 0;
    for (auto& m : model->named_modules())
      if (m.second->type_name() == "TaggedConv" || m.second->type_name() == "Linear") ++weight_layers;
    CHECK(int(specs.size()) == weight_layers);
    std::set<std::string> names;
    for (size_t i = 0; i < specs.size(); ++i) {
      CHECK(specs[i].index == int(i));
      CHECK(specs[i].first == (i == 0));
      CHECK(specs[i].last == (i + 1 == specs.size()));
      CHECK(names.insert(specs[i].name).second);
      CHECK(model->find(specs[i].name).type_name() ==
            (specs[i].kind == LayerSpec::Kind::conv ? "TaggedConv" : "Linear"));
    }
    CHECK(specs.back().kind == LayerSpec::Kind::linear);
    CHECK(specs.back().out == 10);
    if (name == "resnet20") {
      CHECK(specs.size() == 20);  // 19 convs (option-A shortcuts have no weights) + fc
      CHECK(specs[7].name == "layer2.0.conv1");
      CHECK(specs[7].in == 16);
      CHECK(specs[7].out == 32);
      CHECK(specs[7].stride == 2);
      CHECK(specs[7].in_h == 32);
      CHECK(specs[8].in_h == 16);
    }
    if (name == "mobilenet_v1") {
      CHECK(specs.size() == 28);
      CHECK(specs[1].name == "block1.dw");
      CHECK(specs[1].groups == 32);
      CHECK(specs[2].name == "block1.pw");
      CHECK(specs[2].kernel_h == 1);
    }
    if (name == "lenet5") {
      CHECK(specs[2].name == "fc1");
      CHECK(specs[2].in == 576);
      CHECK_FALSE(specs[2].bias);
      CHECK(specs[4].bias);
    }
    // The substituted model still trains end to end.
    Var y = (*model)(Var(Tensor::ones(Shape{2, 3, 32, 32})));
    CHECK(y.shape() == Shape{2, 10});
  }
}

TEST_CASE("zoo: seeds, activations and dropout options") {
  ModelOptions o = opts(1, 28);
  auto a = make_model("resnet8", o), b = make_model("resnet8", o);
  o.seed = 2;
  auto c = make_model("resnet8", o);
  CHECK(a->state_dict()[0].second.to_vector() == b->state_dict()[0].second.to_vector());
  CHECK(a->state_dict()[0].second.to_vector() != c->state_dict()[0].second.to_vector());

  o.activation = Activation::clip01;
  o.dropout = 0.25f;
  auto d = make_model("lenet5", o);
  int clips = 0, relus = 0, drops = 0;
  for (auto& m : d->named_modules()) {
    clips += m.second->type_name() == "Clip";
    relus += m.second->type_name() == "ReLU";
    drops += m.second->type_name() == "Dropout";
  }
  CHECK(clips == 4);
  CHECK(relus == 0);
  CHECK(drops == 2);
  o.activation = Activation::hardtanh;
  auto e = make_model("resnet8", o);
  CHECK(e->find("layer1.0.act2").type_name() == "HardTanh");
}

TEST_CASE("zoo: glob patterns match dotted layer names") {
  CHECK(glob_match("layer*.conv1", "layer2.0.conv1"));
  CHECK(glob_match("*", "fc"));
  CHECK(glob_match("conv?", "conv3"));
  CHECK_FALSE(glob_match("conv?", "conv10"));
  CHECK(glob_match("block*.dw", "block13.dw"));
  CHECK_FALSE(glob_match("block*.dw", "block13.pw"));
  CHECK(glob_match("fc", "fc"));
  CHECK_FALSE(glob_match("fc", "fc1"));
  CHECK(glob_match("*.conv2", "layer3.2.conv2"));
  CHECK(glob_match("**x", "abx"));
}

namespace {
struct NullObserver final : ForwardObserver {
  void on_forward(const Module&, const Var&, const Var&) override {}
};
}  // namespace

TEST_CASE("zoo: fused BN + activation / residual tails give the unfused values and gradients (resnet8, vgg_small)") {
  // Under an observer the layers run unfused (every child's output is observable); without one BasicBlock and
  // Sequential fuse BN → (+ shortcut) → ReLU into one batch_norm op. Both runs start from the same weights.
  for (auto [name, act] : {std::pair<const char*, Activation>{"resnet8", Activation::relu},
                            {"resnet8", Activation::hardtanh}, {"resnet8", Activation::clip01},
                            {"vgg_small", Activation::relu}}) {
    CAPTURE(name);
    CAPTURE(activation_name(act));
    ModelOptions o;
    o.in_channels = 3, o.height = 32, o.width = 32, o.activation = act;
    Rng rng(17);
    Tensor x = Tensor::empty(Shape{4, 3, 32, 32});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
    auto run = [&](bool observed) {
      auto m = make_model(name, o);
      NullObserver obs;
      std::optional<ForwardObserverScope> scope;
      if (observed) scope.emplace(obs);
      Var y = (*m)(Var(x));
      sum(mul(y, y)).backward();
      std::vector<Tensor> out{y.value()};
      for (auto& p : m->named_parameters()) out.push_back(p.second.grad());
      return out;
    };
    const auto fused = run(false), plain = run(true);
    REQUIRE(fused.size() == plain.size());
    for (size_t i = 0; i < fused.size(); ++i) {
      double d = 0.0, ref = 0.0;
      for (int64_t k = 0; k < fused[i].numel(); ++k) {
        d = std::max(d, double(std::fabs(fused[i][k] - plain[i][k])));
        ref = std::max(ref, double(std::fabs(plain[i][k])));
      }
      CAPTURE(i);
      CHECK(d <= 1e-4 * std::max(1.0, ref));
    }
  }
}
