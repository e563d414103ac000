// Optimizers against reference trajectories (three steps with fixed gradients; the expected values were
// produced by torch.optim 2.x with the same hyper-parameters: SGD, SGD momentum + weight decay, Nesterov,
// Adam, Adam + L2, AdamW), bit-exact resume through state()/load_state(), and LR schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "engine/error.h"
#include "engine/optim.h"

using namespace lowbit;

namespace {
const std::vector<std::vector<float>> kGrads{{0.5f, -1.0f, 2.0f}, {0.1f, 0.3f, -0.7f}, {-0.4f, 0.2f, 0.9f}};

template <class MakeOpt>
std::vector<std::vector<float>> trajectory(MakeOpt make) {
  Var w(Tensor::from(Shape{3}, {1.0f, -2.0f, 0.5f}), true);
  std::unique_ptr<Optimizer> opt = make(std::vector<Var>{w});
  std::vector<std::vector<float>> out;
  for (const auto& g : kGrads) {
    opt->zero_grad();
    w.add_grad(Tensor::from(Shape{3}, g));
    opt->step();
    out.push_back(w.value().to_vector());
  }
  return out;
}

void check_traj(const std::vector<std::vector<float>>& got, const std::vector<std::vector<double>>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t s = 0; s < got.size(); ++s)
    for (size_t i = 0; i < 3; ++i) {
      CAPTURE(s);
      CAPTURE(i);
      CHECK(got[s][i] == doctest::Approx(want[s][i]).epsilon(2e-6));
    }
}
}  // namespace

TEST_CASE("Sgd: plain, momentum + weight decay, Nesterov (PyTorch reference values)") {
  check_traj(trajectory([](std::vector<Var> p) { return std::make_unique<Sgd>(p, SgdOptions{0.1f, 0, false, 0}); }),
             {{0.949999988, -1.89999998, 0.300000012},
              {0.939999998, -1.92999995, 0.370000005},
              {0.980000019, -1.94999993, 0.280000001}});
  check_traj(
      trajectory([](std::vector<Var> p) { return std::make_unique<Sgd>(p, SgdOptions{0.1f, 0.9f, false, 0.01f}); }),
      {{0.949000001, -1.898, 0.299499989},
       {0.892150998, -1.83430195, 0.188750476},
       {0.880094767, -1.79513943, -0.00111282757}});
  check_traj(
      trajectory([](std::vector<Var> p) { return std::make_unique<Sgd>(p, SgdOptions{0.1f, 0.9f, true, 0.01f}); }),
      {{0.903100014, -1.80620003, 0.119049974},
       {0.841074109, -1.77714825, 0.0894187763},
       {0.86946553, -1.76025069, -0.171312049}});
}

TEST_CASE("Adam and AdamW (PyTorch reference values)") {
  auto adam = [](float wd, bool decoupled) {
    return [=](std::vector<Var> p) {
      AdamOptions o;
      o.lr = 0.01f;
      o.weight_decay = wd;
      o.decoupled = decoupled;
      return std::make_unique<Adam>(p, o);
    };
  };
  check_traj(trajectory(adam(0.0f, false)), {{0.99000001, -1.99000001, 0.49000001},
                                             {0.981969595, -1.98572147, 0.486135304},
                                             {0.98103261, -1.98367631, 0.480886668}});
  check_traj(trajectory(adam(0.1f, false)), {{0.99000001, -1.99000001, 0.49000001},
                                             {0.981296778, -1.98394752, 0.485867262},
                                             {0.977981865, -1.97927737, 0.480364919}});
  check_traj(trajectory(adam(0.1f, true)), {{0.989000022, -1.98800004, 0.489500016},
                                            {0.979980648, -1.98173356, 0.485145807},
                                            {0.978063703, -1.97770667, 0.479412019}});
}

TEST_CASE("optimizers skip parameters without a gradient, set_lr takes effect") {
  Var a(Tensor::from(Shape{1}, {1.0f}), true), b(Tensor::from(Shape{1}, {1.0f}), true);
  Sgd opt({a, b}, SgdOptions{0.5f, 0.9f, false, 0.0f});
  a.add_grad(Tensor::from(Shape{1}, {1.0f}));
  opt.step();
  CHECK(a.value()[0] == 0.5f);
  CHECK(b.value()[0] == 1.0f);
  opt.set_lr(0.25f);
  CHECK(opt.lr() == 0.25f);
  opt.step();  // b = 0.9·1 + 1 = 1.9
  CHECK(a.value()[0] == doctest::Approx(0.5f - 0.25f * 1.9f));
  opt.zero_grad();
  CHECK_FALSE(a.has_grad());
}

namespace {
// Runs 5 steps in one go, and 2 steps + state round trip into a fresh optimizer + 3 steps: identical bits.
template <class Make>
void check_resume(Make make) {
  auto grads = [](int s) {
    return Tensor::from(Shape{2, 2}, {0.3f * s - 0.5f, 0.1f * s, -0.2f, 0.05f * s * s});
  };
  Var w1(Tensor::from(Shape{2, 2}, {1, 2, 3, 4}), true);
  auto o1 = make(std::vector<Var>{w1});
  for (int s = 0; s < 5; ++s) {
    o1->zero_grad();
    w1.add_grad(grads(s));
    o1->step();
  }
  Var w2(Tensor::from(Shape{2, 2}, {1, 2, 3, 4}), true);
  auto o2 = make(std::vector<Var>{w2});
  for (int s = 0; s < 2; ++s) {
    o2->zero_grad();
    w2.add_grad(grads(s));
    o2->step();
  }
  const std::vector<NamedTensor> st = o2->state();
  Var w3(w2.value().clone(), true);
  auto o3 = make(std::vector<Var>{w3});
  o3->load_state(st);
  for (int s = 2; s < 5; ++s) {
    o3->zero_grad();
    w3.add_grad(grads(s));
    o3->step();
  }
  CHECK(std::memcmp(w1.value().data(), w3.value().data(), 4 * sizeof(float)) == 0);
  // Mismatched state is refused with a message.
  Var wrong(Tensor::zeros(Shape{3}), true);
  auto o4 = make(std::vector<Var>{wrong});
  CHECK_THROWS_WITH_AS(o4->load_state(st), doctest::Contains("shape"), Error);
  CHECK_THROWS_AS(o4->load_state({{"bogus", Tensor::zeros(Shape{3})}}), Error);
}
}  // namespace

TEST_CASE("optimizer state round trip resumes bit-exactly") {
  check_resume([](std::vector<Var> p) { return std::make_unique<Sgd>(p, SgdOptions{0.1f, 0.9f, true, 1e-3f}); });
  check_resume([](std::vector<Var> p) {
    AdamOptions o;
    o.weight_decay = 0.01f;
    o.decoupled = true;
    return std::make_unique<Adam>(p, o);
  });
}

TEST_CASE("LrSchedule: constant, step, cosine, warm-up") {
  LrSchedule c;
  c.base_lr = 0.1f;
  CHECK(c.at(0) == 0.1f);
  CHECK(c.at(50) == 0.1f);
  c.warmup_epochs = 2;
  CHECK(c.at(0) == 0.0f);
  CHECK(c.at(0.5f) == doctest::Approx(0.025f));
  CHECK(c.at(1.0f) == doctest::Approx(0.05f));
  CHECK(c.at(2.0f) == doctest::Approx(0.1f));

  LrSchedule s;
  s.kind = LrSchedule::Kind::step;
  s.base_lr = 0.1f;
  s.step_size = 30;
  s.gamma = 0.1f;
  CHECK(s.at(0) == doctest::Approx(0.1f));
  CHECK(s.at(29.9f) == doctest::Approx(0.1f));
  CHECK(s.at(30) == doctest::Approx(0.01f));
  CHECK(s.at(65) == doctest::Approx(0.001f));

  LrSchedule k;
  k.kind = LrSchedule::Kind::cosine;
  k.base_lr = 0.2f;
  k.min_lr = 0.02f;
  k.total_epochs = 10;
  CHECK(k.at(0) == doctest::Approx(0.2f));
  CHECK(k.at(5) == doctest::Approx(0.11f));
  CHECK(k.at(10) == doctest::Approx(0.02f));
  CHECK(k.at(12) == doctest::Approx(0.02f));
  CHECK(k.at(2.5f) == doctest::Approx(0.02f + 0.18f * 0.5f * (1.0f + std::cos(3.14159265f * 0.25f))));
  k.warmup_epochs = 2;  // warm-up to base_lr, then cosine over the remaining 8 epochs
  CHECK(k.at(1) == doctest::Approx(0.1f));
  CHECK(k.at(2) == doctest::Approx(0.2f));
  CHECK(k.at(6) == doctest::Approx(0.11f));
}
