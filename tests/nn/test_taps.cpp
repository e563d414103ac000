// Feature taps (nn/taps.h): capturing module outputs changes nothing the model computes, keeps BatchNorm fusion on
// except at a tapped BatchNorm, fires only on the model that owns the taps, and only in the modes asked for.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/layers/batchnorm.h"
#include "nn/taps.h"
#include "nn/zoo/zoo.h"

using namespace lowbit;
using namespace lowbit::nn;

namespace {
Tensor random_input(const Shape& s, uint64_t seed) {
  Rng rng(seed);
  Tensor x = Tensor::empty(s);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
  return x;
}

// Every module but the root and the BatchNorms: the taps that must not change what the model computes.
std::vector<std::string> non_bn_modules(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, mod] : m.named_modules())
    if (!name.empty() && !dynamic_cast<BatchNorm*>(mod)) out.push_back(name);
  return out;
}

int64_t total_fused_calls(const Module& m) {
  int64_t n = 0;
  for (const auto& [name, mod] : m.named_modules())
    if (auto* bn = dynamic_cast<BatchNorm*>(mod)) n += bn->fused_calls();
  return n;
}

struct Run {
  std::vector<Tensor> values;  // output, then every parameter's gradient (training mode)
  int64_t fused = 0;
};

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(a[i] == b[i]) && !(std::isnan(a[i]) && std::isnan(b[i]))) return false;
  return true;
}

ModelOptions options_for(const std::string& model) {
  ModelOptions o;
  if (model == "resnet8") o.in_channels = 3, o.height = 32, o.width = 32;
  o.seed = 5;
  return o;
}
}  // namespace

TEST_CASE("taps: tapping every non-BatchNorm module leaves outputs and gradients bit-identical (lenet5, resnet8)") {
  for (const std::string model : {"lenet5", "resnet8"}) {
    for (const bool training : {true, false}) {
      for (const TapMode mode : {TapMode::training, TapMode::always}) {
        CAPTURE(model);
        CAPTURE(training);
        CAPTURE(static_cast<int>(mode));
        const ModelOptions o = options_for(model);
        const Tensor x = random_input(Shape{4, o.in_channels, o.height, o.width}, 3);
        auto run = [&](bool tapped) {
          auto m = make_model(model, o);
          m->train(training);
          std::unique_ptr<FeatureTaps> taps;
          if (tapped) taps = std::make_unique<FeatureTaps>(*m, non_bn_modules(*m), mode);
          Run r;
          Var y = (*m)(Var(x));
          r.values.push_back(y.value());
          if (training) {
            sum(mul(y, y)).backward();
            for (auto& p : m->named_parameters()) r.values.push_back(p.second.grad());
          }
          r.fused = total_fused_calls(*m);
          if (tapped) {
            const bool should_fire = training || mode == TapMode::always;
            for (const std::string& n : taps->names()) {
              CAPTURE(n);
              CHECK(taps->fired(n) == should_fire);
            }
          }
          return r;
        };
        const Run plain = run(false), tapped = run(true);
        CHECK(plain.fused > 0);               // the model fuses BN + activation somewhere
        CHECK(tapped.fused == plain.fused);   // ... and still does with every non-BN module tapped
        REQUIRE(plain.values.size() == tapped.values.size());
        for (size_t i = 0; i < plain.values.size(); ++i) {
          CAPTURE(i);
          CHECK(bit_equal(plain.values[i], tapped.values[i]));
        }
      }
    }
  }
}

TEST_CASE("taps: a tap on an activation fused with its BatchNorm gets the activation's output") {
  // lenet5 runs bn1 → act1 as one op; the tap on act1 must hold ReLU(BN(conv1)), the value the next layer reads.
  const ModelOptions o = options_for("lenet5");
  auto m = make_model("lenet5", o);
  std::vector<std::string> acts;
  for (const auto& [name, mod] : m->named_modules())
    if (name == "act1" || name == "pool1") acts.push_back(name);
  REQUIRE(acts.size() == 2);
  FeatureTaps taps(*m, acts);
  (*m)(Var(random_input(Shape{2, 1, 28, 28}, 4)));
  const Var& a = taps.get("act1");
  const Var& p = taps.get("pool1");
  CHECK(dynamic_cast<BatchNorm&>(m->find("bn1")).fused_calls() == 1);
  REQUIRE(a.shape().rank() == 4);
  float mn = 0.0f;
  for (int64_t i = 0; i < a.value().numel(); ++i) mn = std::min(mn, a.value()[i]);
  CHECK(mn == 0.0f);  // ReLU output
  // pool1 of the tapped act1 output reproduces the tapped pool1 output exactly.
  const Var again = m->find("pool1")(a);
  CHECK(bit_equal(again.value(), p.value()));
}

TEST_CASE("taps: a tapped BatchNorm runs unfused, every other block stays fused, values agree to rounding") {
  const ModelOptions o = options_for("resnet8");
  const Tensor x = random_input(Shape{2, 3, 32, 32}, 6);
  auto plain = make_model("resnet8", o);
  auto tapped = make_model("resnet8", o);
  FeatureTaps taps(*tapped, {"layer1.0.bn1", "layer2.0.bn2"});
  const Var yp = (*plain)(Var(x));
  const Var yt = (*tapped)(Var(x));
  for (const auto& [name, mod] : tapped->named_modules())
    if (auto* bn = dynamic_cast<BatchNorm*>(mod)) {
      CAPTURE(name);
      const bool is_tapped = name == "layer1.0.bn1" || name == "layer2.0.bn2";
      CHECK(bn->fused_calls() == (is_tapped ? 0 : 1));
    }
  // The tapped BN output is the BN's own (it has negative values; after the fused ReLU it would not).
  float mn = 0.0f;
  const Tensor& bn1 = taps.get("layer1.0.bn1").value();
  for (int64_t i = 0; i < bn1.numel(); ++i) mn = std::min(mn, bn1[i]);
  CHECK(mn < 0.0f);
  double d = 0.0;
  for (int64_t i = 0; i < yp.value().numel(); ++i) d = std::max(d, double(std::fabs(yp.value()[i] - yt.value()[i])));
  CHECK(d <= 1e-4);
}

TEST_CASE("taps: a model's taps do not fire on another model's forward") {
  const ModelOptions o = options_for("lenet5");
  auto student = make_model("lenet5", o);
  auto teacher = make_model("lenet5", o);
  teacher->eval();
  FeatureTaps st(*student, {"conv1", "act2"});
  FeatureTaps tt(*teacher, {"conv1", "act2"}, TapMode::always);
  const Var x(random_input(Shape{2, 1, 28, 28}, 8));
  {
    NoGradGuard ng;
    (*teacher)(x);
  }
  CHECK_FALSE(st.fired("conv1"));
  CHECK_FALSE(st.fired("act2"));
  CHECK(tt.fired("conv1"));
  const Tensor teacher_conv1 = tt.get("conv1").value().clone();
  tt.clear();
  (*student)(x);
  CHECK(st.fired("conv1"));
  CHECK(st.fired("act2"));
  CHECK_FALSE(tt.fired("conv1"));
  // Same weights, same input: the captured values agree; the student's carries a graph, the teacher's none.
  CHECK(bit_equal(st.get("conv1").value(), teacher_conv1));
  CHECK(st.get("conv1").requires_grad());
}

TEST_CASE("taps: a captured output feeds a loss whose gradient reaches only the layers before it") {
  const ModelOptions o = options_for("resnet8");
  auto m = make_model("resnet8", o);
  FeatureTaps taps(*m, {"layer1"});
  (*m)(Var(random_input(Shape{2, 3, 32, 32}, 9)));
  const Var f = taps.get("layer1");
  sum(mul(f, f)).backward();
  for (auto& [name, p] : m->named_parameters()) {
    CAPTURE(name);
    const bool before = name.rfind("layer1.", 0) == 0 || name.rfind("conv1", 0) == 0 || name.rfind("bn1", 0) == 0;
    bool nonzero = false;
    if (p.has_grad())
      for (int64_t i = 0; i < p.grad().numel(); ++i) nonzero = nonzero || p.grad()[i] != 0.0f;
    CHECK(nonzero == before);
  }
}

TEST_CASE("taps: errors name the module, destroying the taps detaches them") {
  auto m = make_model("lenet5", options_for("lenet5"));
  CHECK_THROWS_WITH_AS(FeatureTaps(*m, {"conv9"}), doctest::Contains("has no module 'conv9' (modules: conv1"), Error);
  CHECK_THROWS_WITH_AS(FeatureTaps(*m, {"conv1", "conv1"}), doctest::Contains("'conv1' is listed twice"), Error);
  CHECK_THROWS_WITH_AS(FeatureTaps(*m, {""}), doctest::Contains("empty module name"), Error);
  {
    FeatureTaps a(*m, {"conv1"});
    CHECK(m->find("conv1").tapped());
    CHECK_THROWS_WITH_AS(FeatureTaps(*m, {"conv1"}), doctest::Contains("'conv1' already carries a tap"), Error);
    CHECK_THROWS_WITH_AS(a.get("conv2"), doctest::Contains("'conv2' is not tapped"), Error);
    CHECK_THROWS_WITH_AS(a.get("conv1"), doctest::Contains("has not run since"), Error);
    m->eval();
    (*m)(Var(random_input(Shape{1, 1, 28, 28}, 1)));
    CHECK_THROWS_WITH_AS(a.get("conv1"), doctest::Contains("training-mode calls only"), Error);
  }
  CHECK_FALSE(m->find("conv1").tapped());
  FeatureTaps again(*m, {"conv1"});  // the module is free again
  CHECK(again.contains("conv1"));
}
