// Gradient checks (tests/engine/gradcheck.h) for the elementwise, reduction, activation, matmul, shape, loss and
// dropout ops, plus forward values against hand-computed results and shape-error messages.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "gradcheck.h"

using namespace lowbit;
using namespace lowbit::test;

#define GRADCHECK(...)                       \
  do {                                       \
    auto r_ = gradcheck(__VA_ARGS__);        \
    CHECK_MESSAGE(r_.ok, r_.message);        \
  } while (0)

TEST_CASE("gradcheck itself rejects a wrong gradient") {
  // An op whose backward is off by a factor of 2 must fail the checker.
  auto bad = [](const std::vector<Var>& v) {
    Tensor y = v[0].value().clone();
    return Var::make(y, {v[0]}, [](const Tensor& g, std::vector<Var>& in) {
      Tensor gx = g.clone();
      for (int64_t i = 0; i < gx.numel(); ++i) gx[i] *= 2.0f;
      in[0].add_grad(gx);
    });
  };
  Rng rng(1);
  CHECK_FALSE(gradcheck(bad, {rand_tensor(Shape{5}, rng)}).ok);
}

TEST_CASE("elementwise binary ops: same shape, scalar and per-channel broadcast, both sides") {
  Rng rng(2);
  const Shape full4{2, 3, 2, 2}, full2{4, 3}, ch{3}, sc{1};
  using F = Var (*)(const Var&, const Var&);
  const F ops[] = {static_cast<F>(add), static_cast<F>(sub), static_cast<F>(mul), static_cast<F>(div)};
  for (F op : ops) {
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{
             {full4, full4}, {full4, ch}, {ch, full4}, {full2, ch}, {full2, sc}, {sc, full2}, {full4, Shape{}}}) {
      // Divisors bounded away from zero.
      Tensor a = rand_away_from_zero(sa, rng, 0.5f, 1.5f), b = rand_away_from_zero(sb, rng, 0.5f, 1.5f);
      GRADCHECK([op](const std::vector<Var>& v) { return op(v[0], v[1]); }, {a, b});
    }
  }
}

TEST_CASE("elementwise: broadcast forward values") {
  Var a(Tensor::from(Shape{2, 2}, {1, 2, 3, 4}));
  Var c(Tensor::from(Shape{2}, {10, 20}));
  CHECK((a + c).value().to_vector() == std::vector<float>{11, 22, 13, 24});
  CHECK((c - a).value().to_vector() == std::vector<float>{9, 18, 7, 16});
  CHECK((a * Var(Tensor::scalar(2.0f))).value().to_vector() == std::vector<float>{2, 4, 6, 8});
  CHECK_THROWS_WITH_AS(add(a, Var(Tensor::zeros(Shape{3}))), doctest::Contains("add: shapes [2, 2] and [3]"),
                       Error);
  CHECK_THROWS_WITH_AS(mul(Var(Tensor::zeros(Shape{2, 3, 4, 4})), Var(Tensor::zeros(Shape{4}))),
                       doctest::Contains("[2, 3, 4, 4]"), Error);
}

TEST_CASE("elementwise unary ops") {
  Rng rng(3);
  const Shape s{3, 4};
  GRADCHECK([](const std::vector<Var>& v) { return v[0] + 1.5f; }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return v[0] * -2.5f; }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return -v[0]; }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return abs(v[0]); }, {rand_away_from_zero(s, rng, 0.1f)});
  GRADCHECK([](const std::vector<Var>& v) { return exp(v[0]); }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return log(v[0]); }, {rand_tensor(s, rng, 0.5f, 2.0f)});
  GRADCHECK([](const std::vector<Var>& v) { return sqrt(v[0]); }, {rand_tensor(s, rng, 0.5f, 2.0f)});
  GRADCHECK([](const std::vector<Var>& v) { return square(v[0]); }, {rand_tensor(s, rng)});
  // abs has gradient 0 at 0.
  Var z(Tensor::from(Shape{3}, {-1.0f, 0.0f, 2.0f}), true);
  sum(abs(z)).backward();
  CHECK(z.grad().to_vector() == std::vector<float>{-1, 0, 1});
}

TEST_CASE("reductions") {
  Rng rng(4);
  const Shape s{2, 3, 4};
  GRADCHECK([](const std::vector<Var>& v) { return sum(v[0]); }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return mean(v[0]); }, {rand_tensor(s, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return max_all(v[0]); }, {rand_tensor(s, rng)});
  for (int d : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      GRADCHECK([d, keep](const std::vector<Var>& v) { return sum_dim(v[0], d, keep); }, {rand_tensor(s, rng)});
      GRADCHECK([d, keep](const std::vector<Var>& v) { return mean_dim(v[0], d, keep); }, {rand_tensor(s, rng)});
    }
  Var x(Tensor::from(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(sum_dim(x, 0).value().to_vector() == std::vector<float>{5, 7, 9});
  CHECK(sum_dim(x, 1, true).shape() == Shape{2, 1});
  CHECK(mean_dim(x, -1).value().to_vector() == std::vector<float>{2, 5});
  CHECK(max_all(x).value().item() == 6.0f);
  CHECK_THROWS_WITH_AS(sum_dim(x, 2), doctest::Contains("sum_dim"), Error);
}

TEST_CASE("activations (inputs away from kinks)") {
  Rng rng(5);
  const Shape s{4, 5};
  GRADCHECK([](const std::vector<Var>& v) { return relu(v[0]); }, {rand_away_from_zero(s, rng, 0.05f)});
  // hardtanh/clip kinks at lo/hi: inputs in ±[0.05, 0.95] ∪ ±[1.05, 2].
  Tensor ht = Tensor::empty(s);
  for (int64_t i = 0; i < ht.numel(); ++i) {
    const float m = i % 2 ? rng.uniform(0.05f, 0.95f) : rng.uniform(1.05f, 2.0f);
    ht[i] = i % 3 ? m : -m;
  }
  GRADCHECK([](const std::vector<Var>& v) { return hardtanh(v[0]); }, {ht});
  GRADCHECK([](const std::vector<Var>& v) { return hardtanh(v[0], -0.5f, 1.5f); },
            {rand_tensor(s, rng, 0.0f, 1.4f)});
  Tensor cl = Tensor::empty(s);
  for (int64_t i = 0; i < cl.numel(); ++i) cl[i] = i % 2 ? rng.uniform(0.05f, 0.95f) : rng.uniform(1.05f, 1.5f);
  GRADCHECK([](const std::vector<Var>& v) { return clip(v[0], 0.0f, 1.0f); }, {cl});
  GRADCHECK([](const std::vector<Var>& v) { return tanh(v[0]); }, {rand_tensor(s, rng, -2, 2)});
  GRADCHECK([](const std::vector<Var>& v) { return sigmoid(v[0]); }, {rand_tensor(s, rng, -3, 3)});
  CHECK(relu(Var(Tensor::from(Shape{3}, {-1, 0, 2}))).value().to_vector() == std::vector<float>{0, 0, 2});
  CHECK(clip(Var(Tensor::from(Shape{3}, {-1, 0.5f, 2})), 0, 1).value().to_vector() ==
        std::vector<float>{0, 0.5f, 1});
}

TEST_CASE("sign_ste: forward sign with sign(0) = +1, clipped straight-through backward") {
  Var x(Tensor::from(Shape{5}, {-2.0f, -0.5f, 0.0f, 0.5f, 1.5f}), true);
  Var y = sign_ste(x, 1.0f);
  CHECK(y.value().to_vector() == std::vector<float>{-1, -1, 1, 1, 1});
  y.backward(Tensor::from(Shape{5}, {1, 2, 3, 4, 5}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 2, 3, 4, 0});
  Var x2(Tensor::from(Shape{2}, {-3.0f, 3.0f}), true);
  sign_ste(x2, 0.0f).backward(Tensor::from(Shape{2}, {1, 1}));
  CHECK(x2.grad().to_vector() == std::vector<float>{1, 1});
}

TEST_CASE("matmul and linear") {
  Rng rng(6);
  GRADCHECK([](const std::vector<Var>& v) { return matmul(v[0], v[1]); },
            {rand_tensor(Shape{3, 5}, rng), rand_tensor(Shape{5, 4}, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
            {rand_tensor(Shape{4, 6}, rng), rand_tensor(Shape{3, 6}, rng), rand_tensor(Shape{3}, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return linear(v[0], v[1]); },
            {rand_tensor(Shape{2, 5}, rng), rand_tensor(Shape{7, 5}, rng)});
  Var a(Tensor::from(Shape{2, 2}, {1, 2, 3, 4})), b(Tensor::from(Shape{2, 1}, {5, 6}));
  CHECK(matmul(a, b).value().to_vector() == std::vector<float>{17, 39});
  Var w(Tensor::from(Shape{1, 2}, {1, -1})), bias(Tensor::from(Shape{1}, {0.5f}));
  CHECK(linear(a, w, bias).value().to_vector() == std::vector<float>{-0.5f, -0.5f});
  CHECK_THROWS_WITH_AS(matmul(a, Var(Tensor::zeros(Shape{3, 2}))), doctest::Contains("matmul"), Error);
  CHECK_THROWS_WITH_AS(linear(Var(Tensor::zeros(Shape{2, 4})), Var(Tensor::zeros(Shape{3, 5}))),
                       doctest::Contains("[3, 5]"), Error);
}

TEST_CASE("matmul: larger sizes match a naive product (threaded sgemm path)") {
  Rng rng(7);
  const int64_t M = 67, K = 129, N = 301;
  Tensor A = rand_tensor(Shape{M, K}, rng), B = rand_tensor(Shape{K, N}, rng);
  Tensor C = matmul(Var(A), Var(B)).value();
  double max_err = 0.0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += static_cast<double>(A[i * K + k]) * B[k * N + j];
      max_err = std::max(max_err, std::fabs(s - C[i * N + j]));
    }
  CHECK(max_err < 1e-3);
}

TEST_CASE("shape ops") {
  Rng rng(8);
  GRADCHECK([](const std::vector<Var>& v) { return reshape(v[0], Shape{6, -1}); },
            {rand_tensor(Shape{2, 3, 4}, rng)});
  GRADCHECK([](const std::vector<Var>& v) { return flatten(v[0]); }, {rand_tensor(Shape{2, 3, 2, 2}, rng)});
  for (int d : {0, 1, 2})
    GRADCHECK([d](const std::vector<Var>& v) { return concat({v[0], v[1], v[0]}, d); },
              {rand_tensor(Shape{2, 3, 2}, rng), rand_tensor(Shape{2, 3, 2}, rng)});
  for (int d : {0, 1, -1})
    GRADCHECK([d](const std::vector<Var>& v) { return slice(v[0], d, 1, 2); }, {rand_tensor(Shape{3, 3, 3}, rng)});
  Var x(Tensor::from(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(concat({x, x}, 1).value().to_vector() == std::vector<float>{1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6});
  CHECK(slice(x, 1, 1, 3).value().to_vector() == std::vector<float>{2, 3, 5, 6});
  CHECK(slice(x, 0, 1, 2).value().shares_storage(x.value()));
  CHECK(flatten(Var(Tensor::zeros(Shape{2, 3, 4, 5}))).shape() == Shape{2, 60});
  CHECK_THROWS_WITH_AS(concat({x, Var(Tensor::zeros(Shape{3, 3}))}, 1), doctest::Contains("concat"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 2, 5), doctest::Contains("[2, 3]"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, Shape{4}), doctest::Contains("[2, 3]"), Error);
}

TEST_CASE("softmax, log_softmax, losses") {
  Rng rng(9);
  const Shape s{3, 5};
  GRADCHECK([](const std::vector<Var>& v) { return softmax(v[0]); }, {rand_tensor(s, rng, -2, 2)});
  GRADCHECK([](const std::vector<Var>& v) { return log_softmax(v[0]); }, {rand_tensor(s, rng, -2, 2)});
  const std::vector<int32_t> labels{1, 4, 0};
  for (float eps : {0.0f, 0.1f})
    GRADCHECK([&labels, eps](const std::vector<Var>& v) { return cross_entropy(v[0], labels, eps); },
              {rand_tensor(s, rng, -2, 2)});
  for (float T : {1.0f, 4.0f}) {
    // Only the student (input 0) is checked; the teacher must get no gradient.
    GRADCHECK([T](const std::vector<Var>& v) { return kl_div_with_temperature(v[0], v[1], T); },
              {rand_tensor(s, rng, -2, 2), rand_tensor(s, rng, -2, 2)}, GradCheckOptions{}, {0});
  }
  GRADCHECK([](const std::vector<Var>& v) { return mse_loss(v[0], v[1]); },
            {rand_tensor(s, rng), rand_tensor(s, rng)});
  // l1 / huber kinks at d = 0 and |d| = δ: make d = a − b bounded away from them.
  Tensor a = rand_tensor(s, rng), b = a.clone();
  for (int64_t i = 0; i < b.numel(); ++i) b[i] -= (i % 2 ? 1.0f : -1.0f) * (i % 3 ? 0.3f : 1.2f);
  GRADCHECK([](const std::vector<Var>& v) { return l1_loss(v[0], v[1]); }, {a, b});
  GRADCHECK([](const std::vector<Var>& v) { return huber_loss(v[0], v[1], 0.7f); }, {a, b});
}

TEST_CASE("losses: values") {
  // Uniform logits: CE = log C regardless of smoothing.
  Var z(Tensor::zeros(Shape{2, 4}), true);
  CHECK(cross_entropy(z, {0, 3}).value().item() == doctest::Approx(std::log(4.0f)));
  CHECK(cross_entropy(z, {0, 3}, 0.2f).value().item() == doctest::Approx(std::log(4.0f)));
  // One row [2, 0]: p0 = e²/(e²+1). CE(label 0) = −log p0; smoothing 0.2 over 2 classes: q = [0.9, 0.1].
  Var z2(Tensor::from(Shape{1, 2}, {2.0f, 0.0f}));
  const double lp0 = 2.0 - std::log(std::exp(2.0) + 1.0), lp1 = -std::log(std::exp(2.0) + 1.0);
  CHECK(cross_entropy(z2, {0}).value().item() == doctest::Approx(-lp0));
  CHECK(cross_entropy(z2, {0}, 0.2f).value().item() == doctest::Approx(-(0.9 * lp0 + 0.1 * lp1)));
  CHECK_THROWS_WITH_AS(cross_entropy(z2, {2}), doctest::Contains("label 2"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(z2, {-1}), doctest::Contains("outside"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(z2, {0, 1}), doctest::Contains("2 labels"), Error);
  // KL of identical distributions is 0; with T the value is T²·KL(softmax(t/T) ‖ softmax(s/T)).
  Var s(Tensor::from(Shape{1, 2}, {1.0f, 0.0f}), true), t(Tensor::from(Shape{1, 2}, {0.0f, 1.0f}), true);
  CHECK(kl_div_with_temperature(s, s, 2.0f).value().item() == doctest::Approx(0.0).epsilon(1e-6));
  const double T = 2.0, ps0 = 1.0 / (1.0 + std::exp(-0.5)), pt0 = 1.0 - ps0;
  const double kl = pt0 * std::log(pt0 / ps0) + (1 - pt0) * std::log((1 - pt0) / (1 - ps0));
  Var k = kl_div_with_temperature(s, t, 2.0f);
  CHECK(k.value().item() == doctest::Approx(T * T * kl).epsilon(1e-5));
  k.backward();
  CHECK(s.has_grad());
  CHECK_FALSE(t.has_grad());
  Var a(Tensor::from(Shape{2}, {1, 3})), b(Tensor::from(Shape{2}, {0, 0}));
  CHECK(mse_loss(a, b).value().item() == doctest::Approx(5.0));
  CHECK(l1_loss(a, b).value().item() == doctest::Approx(2.0));
  CHECK(huber_loss(a, b, 2.0f).value().item() == doctest::Approx((0.5 + 2.0 * (3 - 1)) / 2));
  CHECK_THROWS_WITH_AS(mse_loss(a, Var(Tensor::zeros(Shape{3}))), doctest::Contains("[2] and [3]"), Error);
}

TEST_CASE("dropout: inverted scaling, determinism by seed, gradient through the mask") {
  Tensor x = Tensor::ones(Shape{1000});
  Rng r1(42), r2(42);
  Var a(x, true);
  Var y1 = dropout(a, 0.25f, true, r1);
  Var y2 = dropout(Var(x), 0.25f, true, r2);
  CHECK(y1.value().to_vector() == y2.value().to_vector());
  int zeros = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    const float v = y1.value()[i];
    CHECK((v == 0.0f || v == doctest::Approx(1.0f / 0.75f)));
    zeros += v == 0.0f;
  }
  CHECK(zeros > 180);
  CHECK(zeros < 320);
  y1.backward(Tensor::ones(Shape{1000}));
  CHECK(a.grad().to_vector() == y1.value().to_vector());  // grad = mask·scale = y for x = 1
  Rng r3(1);
  Var e = dropout(a, 0.5f, false, r3);
  CHECK(e.value().to_vector() == x.to_vector());
  CHECK_THROWS_AS(dropout(a, 1.0f, true, r3), Error);
}
