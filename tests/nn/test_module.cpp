// Module: registration and dotted names, modes, state dicts and their error messages.
#include <doctest/doctest.h>

#include <cmath>

#include <string>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/layers/activation.h"
#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "nn/layers/sequential.h"
#include "nn/module.h"

using namespace lowbit;
using namespace lowbit::nn;

namespace {
// A two-level model: "block" (conv + bn) and "fc".
std::shared_ptr<Sequential> tiny(uint64_t seed = 7) {
  Rng rng(seed);
  auto block = std::make_shared<Sequential>();
  block->add("conv", std::make_shared<Conv2d>(2, 3, 3, 1, 1, rng, /*bias=*/false));
  block->add("bn", std::make_shared<BatchNorm2d>(3));
  auto net = std::make_shared<Sequential>("Tiny");
  net->add("block", block);
  net->add(std::make_shared<ReLU>());  // named "1"
  net->add("pool", std::make_shared<Identity>());
  return net;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// Exposes the protected registration API for tests.
struct Probe : Module {
  Probe() : Module("Probe") {}
  Var forward(const Var& x) override { return x; }
  using Module::register_buffer;
  using Module::register_module;
  using Module::register_parameter;
};
}  // namespace

TEST_CASE("module: dotted names of parameters and buffers in registration order") {
  auto net = tiny();
  std::vector<std::string> names;
  for (auto& p : net->named_parameters()) names.push_back(p.first);
  CHECK(names == std::vector<std::string>{"block.conv.weight", "block.bn.weight", "block.bn.bias"});
  std::vector<std::string> bufs;
  for (auto& b : net->named_buffers()) bufs.push_back(b.first);
  CHECK(bufs == std::vector<std::string>{"block.bn.running_mean", "block.bn.running_var"});
  CHECK(net->num_parameters() == 3 * 2 * 9 + 3 + 3);
  CHECK(net->parameters().size() == 3);
  for (auto& p : net->parameters()) CHECK(p.requires_grad());

  auto mods = net->named_modules();
  REQUIRE(mods.size() == 6);
  CHECK(mods[0].first == "");
  CHECK(mods[1].first == "block");
  CHECK(mods[2].first == "block.conv");
  CHECK(mods[4].first == "1");
  CHECK(net->find("block.bn").type_name() == "BatchNorm2d");
  CHECK(message_of([&] { net->find("block.nope"); }).find("no child 'nope' in 'block'") != std::string::npos);
}

TEST_CASE("module: registration rejects duplicate and dotted names") {
  Probe p;
  p.register_parameter("w", Tensor::ones(Shape{2}));
  CHECK(message_of([&] { p.register_buffer("w", Tensor::ones(Shape{2})); }).find("already used") != std::string::npos);
  CHECK(message_of([&] { p.register_parameter("a.b", Tensor::ones(Shape{2})); }).find("contain no '.'") !=
        std::string::npos);
  CHECK_THROWS_AS(p.register_module("m", nullptr), Error);
}

TEST_CASE("module: train/eval propagate to every descendant") {
  auto net = tiny();
  for (auto& m : net->named_modules()) CHECK(m.second->is_training());
  net->eval();
  for (auto& m : net->named_modules()) CHECK_FALSE(m.second->is_training());
  net->find("block").train();
  CHECK(net->find("block.bn").is_training());
  CHECK_FALSE(net->is_training());
  net->train();
  for (auto& m : net->named_modules()) CHECK(m.second->is_training());
}

TEST_CASE("module: replace_child swaps the layer the container runs") {
  auto net = tiny();
  net->eval();
  net->replace_child("1", std::make_shared<Identity>());
  CHECK(net->find("1").type_name() == "Identity");
  CHECK_FALSE(net->find("1").is_training());  // takes the parent's mode
  CHECK_THROWS_AS(net->replace_child("nope", std::make_shared<Identity>()), Error);
}

TEST_CASE("module: state_dict round trip copies into the existing tensors") {
  auto a = tiny(1), b = tiny(2);
  auto sa = a->state_dict();
  REQUIRE(sa.size() == 5);
  std::vector<Var> b_params = b->parameters();
  const float* b_weight_storage = b_params[0].value().data();
  CHECK(b_params[0].value()[0] != doctest::Approx(sa[0].second[0]));
  sa[3].second.data()[1] = 0.25f;  // running_mean (shared with a)
  CHECK(a->named_buffers()[0].second[1] == 0.25f);

  b->load_state_dict(sa);
  const auto sb = b->state_dict();
  for (size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].first == sb[i].first);
    CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());
  }
  // Same storage as before: an optimizer holding b's parameter Vars still sees the loaded values.
  CHECK(b_params[0].value().data() == b_weight_storage);
  CHECK(b_params[0].value().to_vector() == sa[0].second.to_vector());
  CHECK_FALSE(b->state_dict()[0].second.shares_storage(sa[0].second));
}

TEST_CASE("module: load_state_dict names every missing, unexpected and mismatched key") {
  auto net = tiny();
  auto sd = net->state_dict();
  const auto original = net->state_dict()[0].second.to_vector();
  std::vector<NamedTensor> bad;
  bad.emplace_back("block.conv.weight", Tensor::ones(Shape{3, 2, 3, 3}));
  bad.emplace_back("block.bn.weight", Tensor::ones(Shape{4}));  // wrong shape
  bad.emplace_back("extra.thing", Tensor::ones(Shape{1}));      // unexpected
  bad.emplace_back("other", Tensor::ones(Shape{1}));            // unexpected
  // missing: block.bn.bias, block.bn.running_mean, block.bn.running_var
  const std::string msg = message_of([&] { net->load_state_dict(bad); });
  CHECK(msg.find("Tiny: load_state_dict failed") != std::string::npos);
  CHECK(msg.find("shape mismatch: block.bn.weight (expected [3], got [4])") != std::string::npos);
  CHECK(msg.find("missing keys: block.bn.bias, block.bn.running_mean, block.bn.running_var") != std::string::npos);
  CHECK(msg.find("unexpected keys: extra.thing, other") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);  // one line
  // Nothing was loaded.
  CHECK(net->state_dict()[0].second.to_vector() == original);

  // Non-strict: missing/unexpected tolerated, matching keys loaded; shape mismatches still refused.
  bad.erase(bad.begin() + 1);
  net->load_state_dict(bad, /*strict=*/false);
  CHECK(net->state_dict()[0].second[0] == 1.0f);
  bad.emplace_back("block.bn.weight", Tensor::ones(Shape{2}));
  CHECK(message_of([&] { net->load_state_dict(bad, false); }).find("shape mismatch: block.bn.weight") !=
        std::string::npos);

  // Non-finite values are refused, naming the tensor and the element, strict or not; nothing is loaded.
  auto finite = net->state_dict();
  std::vector<NamedTensor> nan_state;
  for (auto& [name, t] : finite) nan_state.emplace_back(name, t.clone());
  nan_state[0].second.data()[5] = std::nanf("");
  nan_state[1].second.data()[0] = -INFINITY;
  const auto before = net->state_dict()[0].second.to_vector();
  const std::string nan_msg = message_of([&] { net->load_state_dict(nan_state, false); });
  CHECK(nan_msg.find("non-finite values: block.conv.weight (element 5 is nan), block.bn.weight (element 0 is -inf)") !=
        std::string::npos);
  CHECK(net->state_dict()[0].second.to_vector() == before);

  // Duplicates are always errors.
  sd.push_back(sd[0]);
  CHECK(message_of([&] { net->load_state_dict(sd); }).find("duplicate keys: block.conv.weight") != std::string::npos);
}

TEST_CASE("module: forward observer sees every module call, nested scopes restore") {
  struct Count : ForwardObserver {
    std::vector<std::string> types;
    void on_forward(const Module& m, const Var&, const Var&) override { types.push_back(m.type_name()); }
  };
  auto net = tiny();
  Count outer, inner;
  {
    ForwardObserverScope s1(outer);
    {
      ForwardObserverScope s2(inner);
      (*net)(Var(Tensor::ones(Shape{2, 2, 4, 4})));
    }
    (*net)(Var(Tensor::ones(Shape{2, 2, 4, 4})));
  }
  (*net)(Var(Tensor::ones(Shape{2, 2, 4, 4})));  // no observer
  const std::vector<std::string> expect{"Conv2d", "BatchNorm2d", "Sequential", "ReLU", "Identity", "Tiny"};
  CHECK(inner.types == expect);
  CHECK(outer.types == expect);
}

TEST_CASE("module: zero_grad drops gradients of all parameters") {
  Rng rng(3);
  Linear fc(4, 2, rng);
  Var y = fc(Var(Tensor::ones(Shape{3, 4})));
  sum(y).backward();
  CHECK(fc.weight().has_grad());
  CHECK(fc.bias().has_grad());
  fc.zero_grad();
  CHECK_FALSE(fc.weight().has_grad());
  CHECK_FALSE(fc.bias().has_grad());
}

TEST_CASE("module: set_requires_grad freezes a section") {
  auto net = tiny();
  net->find("block.bn").set_requires_grad(false);
  Var y = (*net)(Var(Tensor::ones(Shape{2, 2, 3, 3})));
  sum(y).backward();
  CHECK(net->find("block.conv").local_parameters()[0].second.has_grad());
  for (auto& p : net->find("block.bn").named_parameters()) {
    CHECK_FALSE(p.second.requires_grad());
    CHECK_FALSE(p.second.has_grad());
  }
  net->set_requires_grad(true);
  for (auto& p : net->named_parameters()) CHECK(p.second.requires_grad());
}
