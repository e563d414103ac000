// batch_norm in training and eval mode: gradients (through the batch statistics in training), running-stat
// updates with momentum and unbiased variance, and the eval normalisation.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "gradcheck.h"

using namespace lowbit;
using namespace lowbit::test;

TEST_CASE("batch_norm: gradients in training and eval, rank 2 and 4, with and without affine") {
  Rng rng(21);
  for (const Shape& s : {Shape{4, 3, 3, 2}, Shape{6, 5}}) {
    const int64_t C = s[1];
    for (bool training : {true, false}) {
      CAPTURE(training);
      Tensor rm = rand_tensor(Shape{C}, rng, -0.5f, 0.5f), rv = rand_tensor(Shape{C}, rng, 0.5f, 1.5f);
      auto f = [=](const std::vector<Var>& v) mutable {
        Tensor m = rm.clone(), var = rv.clone();
        return batch_norm(v[0], v[1], v[2], m, var, training, 0.1f, 1e-5f);
      };
      // Scale the input up so the statistics are not tiny relative to h.
      auto r = gradcheck(f, {rand_tensor(s, rng, -2, 2), rand_tensor(Shape{C}, rng, 0.5f, 1.5f),
                             rand_tensor(Shape{C}, rng)});
      CHECK_MESSAGE(r.ok, r.message);
      auto f2 = [=](const std::vector<Var>& v) mutable {
        Tensor m = rm.clone(), var = rv.clone();
        return batch_norm(v[0], Var(), Var(), m, var, training);
      };
      auto r2 = gradcheck(f2, {rand_tensor(s, rng, -2, 2)});
      CHECK_MESSAGE(r2.ok, r2.message);
    }
  }
}

TEST_CASE("batch_norm: forward values and running statistics") {
  // One channel, values 1..4: mean 2.5, biased var 1.25, unbiased var 5/3.
  Var x(Tensor::from(Shape{4, 1}, {1, 2, 3, 4}));
  Var gamma(Tensor::from(Shape{1}, {2.0f})), beta(Tensor::from(Shape{1}, {0.5f}));
  Tensor rm = Tensor::zeros(Shape{1}), rv = Tensor::ones(Shape{1});
  Var y = batch_norm(x, gamma, beta, rm, rv, true, 0.1f, 0.0f);
  const float sd = std::sqrt(1.25f);
  for (int i = 0; i < 4; ++i) CHECK(y.value()[i] == doctest::Approx(2.0f * (i + 1 - 2.5f) / sd + 0.5f));
  CHECK(rm[0] == doctest::Approx(0.25f));
  CHECK(rv[0] == doctest::Approx(0.9f + 0.1f * 5.0f / 3.0f));
  // Eval uses the running statistics.
  Tensor em = Tensor::from(Shape{1}, {1.0f}), ev = Tensor::from(Shape{1}, {4.0f});
  Var ye = batch_norm(x, gamma, beta, em, ev, false, 0.1f, 0.0f);
  CHECK(ye.value()[3] == doctest::Approx(2.0f * (4 - 1) / 2.0f + 0.5f));
  CHECK(em[0] == 1.0f);  // eval leaves running stats alone
  // NCHW: per-channel statistics over N, H, W.
  Tensor x4 = Tensor::empty(Shape{2, 2, 1, 2});
  for (int64_t i = 0; i < 8; ++i) x4[i] = static_cast<float>(i);
  Tensor m4 = Tensor::zeros(Shape{2}), v4 = Tensor::ones(Shape{2});
  batch_norm(Var(x4), Var(), Var(), m4, v4, true, 1.0f);
  CHECK(m4[0] == doctest::Approx((0 + 1 + 4 + 5) / 4.0f));
  CHECK(m4[1] == doctest::Approx((2 + 3 + 6 + 7) / 4.0f));
}

TEST_CASE("batch_norm: errors") {
  Tensor rm = Tensor::zeros(Shape{3}), rv = Tensor::ones(Shape{3});
  Var x(Tensor::zeros(Shape{4, 2, 3, 3}));
  CHECK_THROWS_WITH_AS(batch_norm(x, Var(), Var(), rm, rv, true), doctest::Contains("running_mean has shape [3]"),
                       Error);
  CHECK_THROWS_WITH_AS(batch_norm(Var(Tensor::zeros(Shape{1, 3})), Var(), Var(), rm, rv, true),
                       doctest::Contains("more than 1 value"), Error);
  Tensor none;
  CHECK_THROWS_AS(batch_norm(Var(Tensor::zeros(Shape{2, 3})), Var(), Var(), none, none, false), Error);
}
