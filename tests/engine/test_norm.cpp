// batch_norm in training and eval mode: gradients (through the batch statistics in training), running-stat
// updates with momentum and unbiased variance, and the eval normalisation.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"
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

namespace {
double max_abs_diff(const Tensor& a, const Tensor& b) {
  double d = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
  return d;
}
}  // namespace

TEST_CASE("batch_norm epilogue: residual add and activation equal the unfused ops, values and every gradient") {
  using Act = BatchNormEpilogue::Act;
  struct ActCase {
    const char* name;
    Act act;
    float lo, hi;
  };
  const ActCase acts[] = {{"none", Act::none, 0, 0}, {"relu", Act::relu, 0, 0}, {"hardtanh", Act::clamp, -1, 1},
                          {"clip01", Act::clamp, 0, 1}};
  Rng rng(5);
  // Planes of 1, 7 (ragged against the 16-lane blocks) and 40 values; rank 2 and 4.
  for (const Shape& s : {Shape{5, 3, 1, 7}, Shape{3, 4, 5, 8}, Shape{9, 6}}) {
    const int64_t C = s[1];
    for (bool training : {true, false})
      for (bool with_res : {false, true})
        for (const ActCase& ac : acts) {
          CAPTURE(s.str());
          CAPTURE(training);
          CAPTURE(with_res);
          CAPTURE(ac.name);
          const Tensor xt = rand_tensor(s, rng, -2, 3), rt = rand_tensor(s, rng, -1, 1);
          const Tensor gt = rand_tensor(Shape{C}, rng, 0.5f, 1.5f), bt = rand_tensor(Shape{C}, rng);
          const Tensor rm0 = rand_tensor(Shape{C}, rng, -0.5f, 0.5f), rv0 = rand_tensor(Shape{C}, rng, 0.5f, 1.5f);
          const Tensor seed_grad = rand_tensor(s, rng);
          auto run = [&](bool fused, Tensor& rm, Tensor& rv) {
            std::vector<Var> v{Var(xt.clone(), true), Var(gt.clone(), true), Var(bt.clone(), true),
                               Var(rt.clone(), true)};
            Var y;
            if (fused) {
              BatchNormEpilogue e;
              if (with_res) e.residual = v[3];
              e.act = ac.act, e.lo = ac.lo, e.hi = ac.hi;
              y = batch_norm(v[0], v[1], v[2], rm, rv, training, 0.1f, 1e-5f, e);
            } else {
              y = batch_norm(v[0], v[1], v[2], rm, rv, training, 0.1f, 1e-5f);
              if (with_res) y = add(y, v[3]);
              if (ac.act == Act::relu) y = relu(y);
              if (ac.act == Act::clamp) y = clip(y, ac.lo, ac.hi);
            }
            y.backward(seed_grad);
            v.push_back(y);
            return v;
          };
          Tensor rm_a = rm0.clone(), rv_a = rv0.clone(), rm_b = rm0.clone(), rv_b = rv0.clone();
          auto a = run(true, rm_a, rv_a), b = run(false, rm_b, rv_b);
          CHECK(max_abs_diff(a[4].value(), b[4].value()) < 1e-5);
          CHECK(max_abs_diff(rm_a, rm_b) < 1e-6);
          CHECK(max_abs_diff(rv_a, rv_b) < 1e-5);
          for (int i = 0; i < 3; ++i) {
            CAPTURE(i);
            REQUIRE(a[i].has_grad() == b[i].has_grad());
            CHECK(max_abs_diff(a[i].grad(), b[i].grad()) < 2e-5);
          }
          CHECK(a[3].has_grad() == with_res);
          if (with_res) CHECK(max_abs_diff(a[3].grad(), b[3].grad()) < 1e-6);
        }
  }
}

TEST_CASE("batch_norm epilogue: the clamp window includes its bounds, like clip and hardtanh") {
  // Eval mode with mean 0, variance 1, eps 0, γ = 1, β = 0: z = x exactly, so z hits the bounds exactly.
  Tensor rm = Tensor::zeros(Shape{1}), rv = Tensor::ones(Shape{1});
  const std::vector<float> xs{-1.5f, -1.0f, -0.25f, 0.0f, 0.5f, 1.0f, 1.25f, 3.0f};
  Var x(Tensor::from(Shape{8, 1}, xs), true);
  BatchNormEpilogue e;
  e.act = BatchNormEpilogue::Act::clamp, e.lo = -1.0f, e.hi = 1.0f;
  Var y = batch_norm(x, Var(), Var(), rm, rv, false, 0.1f, 0.0f, e);
  sum(y).backward();
  CHECK(y.value().to_vector() == std::vector<float>{-1, -1, -0.25f, 0, 0.5f, 1, 1, 1});
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 1, 1, 1, 1, 0, 0});
  BatchNormEpilogue r;
  r.act = BatchNormEpilogue::Act::relu;  // ReLU's window is z > 0: nothing at 0
  Var x2(Tensor::from(Shape{8, 1}, xs), true);
  sum(batch_norm(x2, Var(), Var(), rm, rv, false, 0.1f, 0.0f, r)).backward();
  CHECK(x2.grad().to_vector() == std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1});
}

TEST_CASE("batch_norm epilogue: gradients against finite differences (residual, no ReLU kink)") {
  Rng rng(8);
  const Shape s{4, 3, 3, 5};
  Tensor rm = rand_tensor(Shape{3}, rng, -0.5f, 0.5f), rv = rand_tensor(Shape{3}, rng, 0.5f, 1.5f);
  auto f = [=](const std::vector<Var>& v) mutable {
    Tensor m = rm.clone(), var = rv.clone();
    return batch_norm(v[0], v[1], v[2], m, var, true, 0.1f, 1e-5f, BatchNormEpilogue{v[3]});
  };
  auto r = gradcheck(f, {rand_tensor(s, rng, -2, 2), rand_tensor(Shape{3}, rng, 0.5f, 1.5f),
                         rand_tensor(Shape{3}, rng), rand_tensor(s, rng)});
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("batch_norm: statistics of a channel far from zero keep their precision (shifted one-pass sums)") {
  // Mean 1000, std ~1: an unshifted Σx² − (Σx)² would lose about 6 of float's 7 digits.
  Rng rng(3);
  const int64_t N = 64, H = 9;
  Tensor x = Tensor::empty(Shape{N, 1, H, H});
  double sum = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    x[i] = 1000.0f + rng.uniform(-1.7f, 1.7f);
    sum += x[i];
  }
  const double mu = sum / x.numel();
  double ss = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) ss += (x[i] - mu) * (x[i] - mu);
  const double var = ss / x.numel();
  Tensor rm = Tensor::zeros(Shape{1}), rv = Tensor::zeros(Shape{1});
  Var y = batch_norm(Var(x), Var(), Var(), rm, rv, true, 1.0f, 0.0f);
  CHECK(rm[0] == doctest::Approx(mu).epsilon(1e-7));
  CHECK(rv[0] == doctest::Approx(var * x.numel() / (x.numel() - 1)).epsilon(1e-5));
  for (int64_t i = 0; i < x.numel(); i += 97)
    CHECK(y.value()[i] == doctest::Approx((x[i] - mu) / std::sqrt(var)).epsilon(1e-3).scale(1.0));
}

TEST_CASE("batch_norm epilogue: a residual of another shape is an error naming both shapes") {
  Tensor rm = Tensor::zeros(Shape{2}), rv = Tensor::ones(Shape{2});
  Var x(Tensor::zeros(Shape{2, 2, 3, 3}));
  BatchNormEpilogue e{Var(Tensor::zeros(Shape{2, 2, 3, 4})), BatchNormEpilogue::Act::relu};
  CHECK_THROWS_WITH_AS(batch_norm(x, Var(), Var(), rm, rv, true, 0.1f, 1e-5f, e),
                       doctest::Contains("residual has shape [2, 2, 3, 4], expected the input's [2, 2, 3, 3]"),
                       Error);
}

TEST_CASE("batch_norm: values, running statistics and every gradient are identical for 1 and 2 threads") {
  using Act = BatchNormEpilogue::Act;
  Rng rng(8);
  // 8·16 planes of 300 values (ragged against the 16-value blocks): enough work for the loops to run in parallel.
  const Shape s{8, 16, 15, 20};
  const Tensor xt = rand_tensor(s, rng, -2, 3), rt = rand_tensor(s, rng, -1, 1), seed_grad = rand_tensor(s, rng);
  const Tensor gt = rand_tensor(Shape{16}, rng, 0.5f, 1.5f), bt = rand_tensor(Shape{16}, rng);
  for (Act act : {Act::none, Act::relu, Act::clamp}) {
    auto run = [&](int threads, Tensor& rm, Tensor& rv) {
      set_num_threads(threads);
      std::vector<Var> v{Var(xt.clone(), true), Var(gt.clone(), true), Var(bt.clone(), true), Var(rt.clone(), true)};
      BatchNormEpilogue e;
      e.residual = v[3];
      e.act = act, e.lo = -0.5f, e.hi = 1.0f;
      Var y = batch_norm(v[0], v[1], v[2], rm, rv, /*training=*/true, 0.1f, 1e-5f, e);
      y.backward(seed_grad);
      v.push_back(y);
      return v;
    };
    const int restore = num_threads();
    Tensor rm1 = Tensor::zeros(Shape{16}), rv1 = Tensor::ones(Shape{16});
    Tensor rm2 = Tensor::zeros(Shape{16}), rv2 = Tensor::ones(Shape{16});
    const auto a = run(1, rm1, rv1), b = run(2, rm2, rv2);
    set_num_threads(restore);
    CAPTURE(static_cast<int>(act));
    CHECK(max_abs_diff(a[4].value(), b[4].value()) == 0.0);
    CHECK(max_abs_diff(rm1, rm2) == 0.0);
    CHECK(max_abs_diff(rv1, rv2) == 0.0);
    for (int i = 0; i < 4; ++i) CHECK(max_abs_diff(a[i].grad(), b[i].grad()) == 0.0);
  }
}
