// Central finite-difference gradient checker for engine ops.
//
// For an op f(x_0, ..., x_k) with output y, it checks the vector-Jacobian product: with a fixed random
// projection R (same shape as y), L = Σ R ⊙ f(x). The analytic gradient is backward(R); the numeric one is
// (L(x + h·e_i) − L(x − h·e_i)) / 2h for every element i of every input, with L accumulated in double.
// Element i passes when |num − ana| ≤ atol + rtol·max(|num|, |ana|).
//
// Tolerances: the ops run in float, so L carries a rounding error of about 1e-7·Σ|R ⊙ y|, amplified by 1/2h in
// the difference; with h = 1e-2 and outputs of a few hundred O(1) elements that is ~1e-4. The truncation error
// of the central difference is O(h²·f''') ~ 1e-4 for smooth ops. Defaults rtol = 1e-2, atol = 2e-3 sit above
// both but far below the error of any real mistake (a dropped term, a factor 2 or a wrong sign moves the result
// by O(1)). Inputs must be chosen away from kinks (ReLU at 0, ties in max, clip edges) by at least 2h.
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/var.h"

namespace lowbit::test {

struct GradCheckResult {
  bool ok = true;
  std::string message;
  double max_abs_err = 0.0;
};

struct GradCheckOptions {
  double h = 1e-2;
  double rtol = 1e-2;
  double atol = 2e-3;
  uint64_t seed = 1234;
};

using OpFn = std::function<Var(const std::vector<Var>&)>;

inline double projected(const Tensor& y, const Tensor& r) {
  double s = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) s += static_cast<double>(y[i]) * r[i];
  return s;
}

// Checks d/dx_i of Σ R ⊙ f(x) for every input listed in `check` (default: all).
inline GradCheckResult gradcheck(const OpFn& f, const std::vector<Tensor>& inputs, GradCheckOptions o = {},
                                 std::vector<int> check = {}) {
  GradCheckResult res;
  if (check.empty())
    for (size_t i = 0; i < inputs.size(); ++i) check.push_back(static_cast<int>(i));
  std::vector<Var> vars;
  for (const Tensor& t : inputs) vars.emplace_back(t.clone(), true);
  Var y = f(vars);
  Rng rng(o.seed);
  Tensor R = Tensor::empty(y.shape());
  for (int64_t i = 0; i < R.numel(); ++i) R[i] = rng.uniform(-1.0f, 1.0f);
  y.backward(R);
  for (int k : check) {
    std::vector<Tensor> xs;
    for (const Tensor& t : inputs) xs.push_back(t.clone());
    const int64_t n = xs[k].numel();
    for (int64_t i = 0; i < n; ++i) {
      auto eval = [&](float delta) {
        NoGradGuard ng;
        const float keep = xs[k][i];
        xs[k][i] = keep + delta;
        std::vector<Var> vs;
        for (const Tensor& t : xs) vs.emplace_back(t, false);
        const double l = projected(f(vs).value(), R);
        xs[k][i] = keep;
        return l;
      };
      const float hf = static_cast<float>(o.h);
      const double num = (eval(hf) - eval(-hf)) / (2.0 * o.h);
      const double ana = vars[k].has_grad() ? static_cast<double>(vars[k].grad()[i]) : 0.0;
      const double err = std::fabs(num - ana);
      res.max_abs_err = std::max(res.max_abs_err, err);
      if (err > o.atol + o.rtol * std::max(std::fabs(num), std::fabs(ana)) && res.ok) {
        res.ok = false;
        res.message = "input " + std::to_string(k) + " element " + std::to_string(i) + ": numeric " +
                      std::to_string(num) + " vs analytic " + std::to_string(ana);
      }
    }
  }
  return res;
}

// A tensor of the given shape with values uniform in [lo, hi).
inline Tensor rand_tensor(const Shape& s, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

// Values uniform in ±[margin, hi): bounded away from zero (for relu/abs/sign kinks).
inline Tensor rand_away_from_zero(const Shape& s, Rng& rng, float margin, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float m = rng.uniform(margin, hi);
    t[i] = rng.uniform() < 0.5f ? -m : m;
  }
  return t;
}

}  // namespace lowbit::test
