// Layers: output shapes and numeric checks against hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/layers/activation.h"
#include "nn/layers/basic_block.h"
#include "nn/layers/batchnorm.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/dropout.h"
#include "nn/layers/linear.h"
#include "nn/layers/pool.h"
#include "nn/layers/sequential.h"

using namespace lowbit;
using namespace lowbit::nn;

namespace {
Tensor iota(const Shape& s, float start = 1.0f) {
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = start + float(i);
  return t;
}
void check_values(const Tensor& t, const std::vector<float>& expect) {
  REQUIRE(t.numel() == int64_t(expect.size()));
  for (size_t i = 0; i < expect.size(); ++i) CHECK(t[int64_t(i)] == doctest::Approx(expect[i]).epsilon(1e-5));
}
}  // namespace

TEST_CASE("layers: Linear computes x·Wᵀ + b and counts MACs") {
  Rng rng(1);
  Linear fc(2, 3, rng);
  CHECK(fc.weight().shape() == Shape{3, 2});
  // PyTorch default init: |w| ≤ 1/√fan_in.
  for (float v : fc.weight().value().to_vector()) CHECK(std::fabs(v) <= 1.0f / std::sqrt(2.0f) + 1e-6f);
  fc.weight().value().copy_from(Tensor::from(Shape{3, 2}, {1, 2, 3, 4, 5, 6}));
  fc.bias().value().copy_from(Tensor::from(Shape{3}, {0.5f, 0, -0.5f}));
  Var y = fc(Var(Tensor::from(Shape{2, 2}, {1, -1, 2, 0})));
  CHECK(y.shape() == Shape{2, 3});
  check_values(y.value(), {-0.5f, -1, -1.5f, 2.5f, 6, 9.5f});
  CHECK(fc.macs(Shape{1, 2}, Shape{1, 3}) == 6);
  CHECK_THROWS_AS(fc(Var(Tensor::ones(Shape{2, 5}))), Error);
  Linear nobias(2, 3, rng, false);
  CHECK_FALSE(nobias.bias().defined());
  CHECK(nobias.num_parameters() == 6);
}

TEST_CASE("layers: Conv2d padding, stride, groups and MACs") {
  Rng rng(2);
  SUBCASE("3x3 all-ones kernel, pad 1, stride 1 and 2") {
    Conv2d c(1, 1, 3, 1, 1, rng, /*bias=*/false);
    c.weight().value().fill(1.0f);
    const Var x(iota(Shape{1, 1, 3, 3}));  // 1..9
    Var y = c(x);
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    check_values(y.value(), {12, 21, 16, 27, 45, 33, 24, 39, 28});
    Conv2d s2(1, 1, 3, 2, 1, rng, false);
    s2.weight().value().fill(1.0f);
    Var y2 = s2(x);
    CHECK(y2.shape() == Shape{1, 1, 2, 2});
    check_values(y2.value(), {12, 16, 24, 28});
    CHECK(c.macs(Shape{1, 1, 3, 3}, y.shape()) == 9 * 9);
  }
  SUBCASE("bias is added per output channel") {
    Conv2d c(1, 2, 1, 1, 0, rng, true);
    c.weight().value().copy_from(Tensor::from(Shape{2, 1, 1, 1}, {2, -1}));
    c.bias().value().copy_from(Tensor::from(Shape{2}, {1, 10}));
    Var y = c(Var(iota(Shape{1, 1, 1, 2})));
    check_values(y.value(), {3, 5, 9, 8});
  }
  SUBCASE("depthwise: each channel with its own kernel") {
    Conv2d dw(Conv2dOptions{2, 2, 3, 3, 1, 1, /*groups=*/2, false}, rng);
    CHECK(dw.weight().shape() == Shape{2, 1, 3, 3});
    Tensor w(Shape{2, 1, 3, 3});
    for (int i = 0; i < 9; ++i) w[i] = 1.0f, w[9 + i] = 2.0f;
    dw.weight().value().copy_from(w);
    Tensor x(Shape{1, 2, 3, 3});
    for (int i = 0; i < 9; ++i) x[i] = float(i + 1), x[9 + i] = 1.0f;
    Var y = dw(Var(x));
    CHECK(y.shape() == Shape{1, 2, 3, 3});
    check_values(y.value(), {12, 21, 16, 27, 45, 33, 24, 39, 28, 8, 12, 8, 12, 18, 12, 8, 12, 8});
    CHECK(dw.macs(Shape{1, 2, 3, 3}, y.shape()) == 18 * 9);
    CHECK(dw.describe() == "3x3 s1 p1 dw nobias");
  }
  SUBCASE("groups=2: output channel g sees only its input group") {
    Conv2d g(Conv2dOptions{4, 2, 1, 1, 1, 0, 2, false}, rng);
    CHECK(g.weight().shape() == Shape{2, 2, 1, 1});
    g.weight().value().copy_from(Tensor::from(Shape{2, 2, 1, 1}, {1, 10, 100, 1000}));
    Var y = g(Var(Tensor::from(Shape{1, 4, 1, 1}, {1, 2, 3, 4})));
    check_values(y.value(), {21, 4300});
  }
  SUBCASE("bad options and inputs throw") {
    CHECK_THROWS_AS(Conv2d(Conv2dOptions{3, 4, 3, 3, 1, 1, 2, false}, rng), Error);
    Conv2d c(3, 4, 3, 1, 1, rng);
    CHECK_THROWS_AS(c(Var(Tensor::ones(Shape{1, 2, 8, 8}))), Error);
    CHECK_THROWS_AS(c(Var(Tensor::ones(Shape{2, 3, 8}))), Error);
  }
}

TEST_CASE("layers: BatchNorm2d uses batch statistics in training and running ones in eval") {
  BatchNorm2d bn(1);
  const Var x(Tensor::from(Shape{2, 1, 1, 2}, {1, 2, 3, 4}));
  Var y = bn(x);
  // mean 2.5, biased variance 1.25
  const float inv = 1.0f / std::sqrt(1.25f + 1e-5f);
  check_values(y.value(), {-1.5f * inv, -0.5f * inv, 0.5f * inv, 1.5f * inv});
  // running: 0.9·0 + 0.1·2.5; 0.9·1 + 0.1·(5/3) (unbiased)
  check_values(bn.running_mean(), {0.25f});
  check_values(bn.running_var(), {0.9f + 0.1f * 5.0f / 3.0f});
  bn.eval();
  Var z = bn(x);
  const float rinv = 1.0f / std::sqrt(0.9f + 0.5f / 3.0f + 1e-5f);
  check_values(z.value(), {0.75f * rinv, 1.75f * rinv, 2.75f * rinv, 3.75f * rinv});
  check_values(bn.running_mean(), {0.25f});  // unchanged in eval
  CHECK_THROWS_AS(bn(Var(Tensor::ones(Shape{2, 1}))), Error);
  CHECK_THROWS_AS(bn(Var(Tensor::ones(Shape{2, 3, 2, 2}))), Error);

  BatchNorm1d bn1(2);
  Var y1 = bn1(Var(Tensor::from(Shape{2, 2}, {0, 5, 2, 5})));
  const float i1 = 1.0f / std::sqrt(1.0f + 1e-5f);
  check_values(y1.value(), {-i1, 0, i1, 0});
  CHECK(bn1.state_dict().size() == 4);
}

TEST_CASE("layers: activations") {
  const Var x(Tensor::from(Shape{4}, {-2, -0.5f, 0.3f, 1.5f}));
  check_values(ReLU()(x).value(), {0, 0, 0.3f, 1.5f});
  check_values(HardTanh()(x).value(), {-1, -0.5f, 0.3f, 1});
  check_values(Clip(0, 1)(x).value(), {0, 0, 0.3f, 1});
  check_values(Identity()(x).value(), {-2, -0.5f, 0.3f, 1.5f});
  CHECK(make_activation(Activation::clip01)->type_name() == "Clip");
  CHECK(make_activation(Activation::hardtanh)->type_name() == "HardTanh");
  CHECK(parse_activation("clip01") == Activation::clip01);
  CHECK_THROWS_WITH_AS(parse_activation("gelu"), doctest::Contains("valid: relu, hardtanh, clip01, identity"), Error);
  CHECK_THROWS_AS(Clip(1, 0), Error);
}

TEST_CASE("layers: pooling and flatten") {
  const Var x(iota(Shape{1, 1, 4, 4}));  // 1..16
  Var m = MaxPool2d(2)(x);
  CHECK(m.shape() == Shape{1, 1, 2, 2});
  check_values(m.value(), {6, 8, 14, 16});
  check_values(AvgPool2d(2)(x).value(), {3.5f, 5.5f, 11.5f, 13.5f});
  Var g = GlobalAvgPool()(x);
  CHECK(g.shape() == Shape{1, 1});
  check_values(g.value(), {8.5f});
  Var f = Flatten()(Var(iota(Shape{2, 3, 2, 2})));
  CHECK(f.shape() == Shape{2, 12});
  CHECK(f.value()[13] == 14.0f);
  CHECK(MaxPool2d(3, 2, 1)(Var(iota(Shape{1, 2, 5, 5}))).shape() == Shape{1, 2, 3, 3});
  CHECK_THROWS_AS(MaxPool2d(2)(Var(iota(Shape{1, 1, 1, 1}))), Error);
  CHECK_THROWS_AS(GlobalAvgPool()(Var(iota(Shape{2, 3}))), Error);
}

TEST_CASE("layers: Dropout is identity in eval and inverted dropout in training") {
  Dropout d(0.5f, Rng(9));
  const Var x(Tensor::ones(Shape{100, 100}));
  Var y = d(x);
  int64_t zeros = 0;
  for (float v : y.value().to_vector()) {
    CHECK((v == 0.0f || v == doctest::Approx(2.0f)));
    zeros += v == 0.0f;
  }
  CHECK(zeros > 4500);
  CHECK(zeros < 5500);
  d.eval();
  CHECK(d(x).value().to_vector() == x.value().to_vector());
  CHECK_THROWS_AS(Dropout(1.0f, Rng(1)), Error);
}

TEST_CASE("layers: Sequential runs children in order and in sections") {
  Rng rng(4);
  Sequential s;
  s.add(std::make_shared<Clip>(0, 3)).add("double", std::make_shared<HardTanh>(-10, 10));
  auto lin = std::make_shared<Linear>(2, 1, rng, false);
  lin->weight().value().copy_from(Tensor::from(Shape{1, 2}, {2, 1}));
  s.add("fc", lin);
  CHECK(s.size() == 3);
  CHECK(s.index_of("fc") == 2);
  CHECK(s.children()[0].first == "0");
  const Var x(Tensor::from(Shape{1, 2}, {5, -1}));
  check_values(s(x).value(), {6});
  check_values(s.forward_range(x, 0, 1).value(), {3, 0});
  check_values(s.forward_range(x, 2, 3).value(), {9});
  CHECK_THROWS_AS(s.forward_range(x, 2, 4), Error);
  CHECK_THROWS_WITH_AS(s.index_of("x"), doctest::Contains("children: 0, double, fc"), Error);
}

TEST_CASE("layers: ShortcutA subsamples and zero-pads channels, gradient scatters back") {
  ShortcutA sc(2, 4, 2);
  Var x(iota(Shape{1, 2, 4, 4}, 0.0f), /*requires_grad=*/true);
  Var y = sc(x);
  CHECK(y.shape() == Shape{1, 4, 2, 2});
  // channels 0 and 3 are padding; channel 1 = x[0, 0, ::2, ::2], channel 2 = x[0, 1, ::2, ::2]
  check_values(y.value(), {0, 0, 0, 0, 0, 2, 8, 10, 16, 18, 24, 26, 0, 0, 0, 0});
  sum(y).backward();
  std::vector<float> g(32, 0.0f);
  for (int c = 0; c < 2; ++c)
    for (int i : {0, 2})
      for (int j : {0, 2}) g[c * 16 + i * 4 + j] = 1.0f;
  CHECK(x.grad().to_vector() == g);
  CHECK(ShortcutA(16, 32, 2)(Var(Tensor::ones(Shape{1, 16, 7, 7}))).shape() == Shape{1, 32, 4, 4});
}

TEST_CASE("layers: BasicBlock shapes, names and the residual path") {
  Rng rng(5);
  BasicBlock same(8, 8, 1, rng);
  CHECK(same(Var(Tensor::ones(Shape{2, 8, 6, 6}))).shape() == Shape{2, 8, 6, 6});
  CHECK(same.find("shortcut").type_name() == "Identity");
  BasicBlock down(8, 16, 2, rng);
  CHECK(down.find("shortcut").type_name() == "ShortcutA");
  Var x(iota(Shape{2, 8, 7, 7}, -40.0f), true);
  Var y = down(x);
  CHECK(y.shape() == Shape{2, 16, 4, 4});
  sum(y).backward();
  CHECK(x.has_grad());
  for (auto& p : down.named_parameters()) CHECK_MESSAGE(p.second.has_grad(), p.first);
  std::vector<std::string> names;
  for (auto& p : down.named_parameters()) names.push_back(p.first);
  CHECK(names == std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                          "bn2.bias"});
  CHECK(down.num_parameters() == 8 * 16 * 9 + 16 * 16 * 9 + 4 * 16);

  // With conv2 = 0 the residual branch is bn2(0) = β = 0, so the block is act2(x) = relu(x).
  auto& conv2 = static_cast<Conv2d&>(same.find("conv2"));
  conv2.weight().value().zero();
  const Tensor in = iota(Shape{1, 8, 2, 2}, -16.0f);
  Var out = same(Var(in));
  for (int64_t i = 0; i < in.numel(); ++i) CHECK(out.value()[i] == doctest::Approx(std::max(in[i], 0.0f)));
}
