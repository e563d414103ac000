// Batch normalisation over axis 1 of [N, C] or [N, C, H, W], one channel at a time (parallel over channels).
// Per channel, with m = N·H·W values, x̂ = (x − μ)·s, s = 1/√(σ² + ε), y = γ·x̂ + β:
//   training: μ, σ² are the batch mean and biased variance; the backward through the batch statistics is
//     dβ = Σ g,  dγ = Σ g·x̂,  dx = γ·s/m · (m·g − dβ − x̂·dγ)
//   eval: μ, σ² are the running estimates (constants), so dx = γ·s·g.
// x̂ is recomputed from the saved input in the backward instead of being stored (one less activation-sized
// buffer per layer). Batch statistics are accumulated in double in a fixed order.
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum, float eps) {
  check_defined(x, "batch_norm", "input");
  const Shape xs = x.shape();
  LOWBIT_CHECK(xs.rank() == 2 || xs.rank() == 4, "batch_norm: input must be [N, C] or [N, C, H, W], got {}",
               xs.str());
  const int64_t N = xs[0], C = xs[1], inner = xs.rank() == 4 ? xs[2] * xs[3] : 1;
  const int64_t m = N * inner;
  const Shape cs{C};
  auto check_c = [&](const Shape& s, const char* what) {
    LOWBIT_CHECK(s == cs, "batch_norm: {} has shape {}, expected [{}] for input {}", what, s.str(), C, xs.str());
  };
  if (gamma.defined()) check_c(gamma.shape(), "gamma");
  if (beta.defined()) check_c(beta.shape(), "beta");
  const bool have_running = running_mean.defined() && running_var.defined();
  if (have_running) {
    check_c(running_mean.shape(), "running_mean");
    check_c(running_var.shape(), "running_var");
  }
  LOWBIT_CHECK(training || have_running, "batch_norm: eval mode needs running statistics (input {})", xs.str());
  LOWBIT_CHECK(!training || m > 1, "batch_norm: training needs more than 1 value per channel, input {}", xs.str());

  Tensor X = x.value();
  Tensor G = gamma.defined() ? gamma.value() : Tensor();
  const float* xp = X.data();
  const float* gp = G.defined() ? G.data() : nullptr;
  const float* bp = beta.defined() ? beta.value().data() : nullptr;
  auto mean_c = std::make_shared<std::vector<float>>(static_cast<size_t>(C));
  auto invstd_c = std::make_shared<std::vector<float>>(static_cast<size_t>(C));
  Tensor Y = Tensor::empty(xs);
  float* yp = Y.data();

  parallel_for_work(C, N * C * inner * 3, [&](int64_t c) {
    float mu, var;
    if (training) {
      double s = 0.0;
      for (int64_t n = 0; n < N; ++n) s += sum_array(xp + (n * C + c) * inner, inner);
      const double dmu = s / static_cast<double>(m);
      const float fmu = static_cast<float>(dmu);
      double ss = 0.0;
      for (int64_t n = 0; n < N; ++n) ss += sum_sq_dev(xp + (n * C + c) * inner, inner, fmu);
      mu = fmu;
      var = static_cast<float>(ss / static_cast<double>(m));
      if (have_running) {
        const float unbiased = static_cast<float>(ss / static_cast<double>(m - 1));
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mu;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
      }
    } else {
      mu = running_mean[c];
      var = running_var[c];
    }
    const float is = 1.0f / std::sqrt(var + eps);
    (*mean_c)[c] = mu;
    (*invstd_c)[c] = is;
    // y = x·a + b with a = γ·s, b = β − μ·a.
    const float a = (gp ? gp[c] : 1.0f) * is;
    const float b = (bp ? bp[c] : 0.0f) - mu * a;
    for (int64_t n = 0; n < N; ++n) affine_array(xp + (n * C + c) * inner, yp + (n * C + c) * inner, inner, a, b);
  });

  return Var::make(Y, {x, gamma, beta}, [X, G, mean_c, invstd_c, training, N, C, inner, m](
                                             const Tensor& dy, std::vector<Var>& in) {
    const float* xp = X.data();
    const float* gp = G.defined() ? G.data() : nullptr;
    const float* dyp = dy.data();
    const bool need_x = in[0].requires_grad();
    Tensor dx = need_x ? Tensor::empty(X.shape()) : Tensor();
    float* dxp = need_x ? dx.data() : nullptr;
    std::vector<float> dgamma(static_cast<size_t>(C)), dbeta(static_cast<size_t>(C));
    parallel_for_work(C, N * C * inner * 3, [&](int64_t c) {
      const float mu = (*mean_c)[c], is = (*invstd_c)[c];
      double sg = 0.0, sgx = 0.0;
      for (int64_t n = 0; n < N; ++n)
        sum_g_gxdev(dyp + (n * C + c) * inner, xp + (n * C + c) * inner, inner, mu, sg, sgx);
      const float db = static_cast<float>(sg);
      const float dg = static_cast<float>(sgx) * is;  // Σ g·x̂
      dbeta[c] = db;
      dgamma[c] = dg;
      if (!dxp) return;
      const float gam = gp ? gp[c] : 1.0f;
      if (training) {
        // dx = γ·s·g − γ·s/m·dβ − x̂·γ·s/m·dγ, with x̂ = (x − μ)·s: dx = k1·g + k2·x + k3.
        const float inv_m = 1.0f / static_cast<float>(m);
        const float k1 = gam * is;
        const float k2 = -k1 * inv_m * dg * is;
        const float k3 = -k1 * inv_m * db - k2 * mu;
        for (int64_t n = 0; n < N; ++n) {
          const int64_t off = (n * C + c) * inner;
          bn_grad_array(dyp + off, xp + off, dxp + off, inner, k1, k2, k3);
        }
      } else {
        const float k1 = gam * is;
        for (int64_t n = 0; n < N; ++n)
          affine_array(dyp + (n * C + c) * inner, dxp + (n * C + c) * inner, inner, k1, 0.0f);
      }
    });
    if (need_x) in[0].add_grad(dx);
    if (wants_grad(in, 1)) in[1].add_grad(Tensor::from(Shape{C}, dgamma));
    if (wants_grad(in, 2)) in[2].add_grad(Tensor::from(Shape{C}, dbeta));
  });
}

}  // namespace lowbit
