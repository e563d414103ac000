// Batch normalisation over axis 1 of [N, C] or [N, C, H, W], with an optional epilogue (a residual added after
// the affine, then ReLU or a clamp) so a residual block's BN → (+ shortcut) → activation tail is one op.
//
// Per channel, with m = N·H·W values, x̂ = (x − μ)·s, s = 1/√(σ² + ε):
//   z = γ·x̂ + β (+ r),  y = act(z): z, relu(z) or clamp(z, lo, hi).
//   Training: μ, σ² are the batch mean and biased variance. With g' = ∂L/∂z = g·w, w = 1[z > 0] (ReLU),
//   1[lo ≤ z ≤ hi] (clamp) or 1, the backward
//   through the batch statistics is
//     dβ = Σ g',  dγ = Σ g'·x̂,  dx = γ·s/m · (m·g' − dβ − x̂·dγ) = k1·g' + k2·x + k3,  dr = g'
//   Eval: μ, σ² are the running estimates (constants), so dx = γ·s·g'.
//
// Memory order. The loops walk the tensor in storage order: one work item is a plane (n, c) of H·W contiguous
// values, and each thread takes a contiguous run of planes. A per-channel loop over the N strided planes (the
// earlier layout) restarted the hardware prefetcher at every plane and measured 3-4 cycles per element on
// ResNet-20's activations; in storage order every pass is a sequential stream. Per-plane partial sums are
// combined per channel in plane order, so the result does not depend on the thread count.
//
// One pass for the statistics: with a per-channel shift K (the channel's first value, within a few σ of μ),
//   μ = K + S1/m,  σ² = S2/m − (S1/m)²,  S1 = Σ (x − K),  S2 = Σ (x − K)²,
// accumulated in float per 16-lane block and in double across blocks and planes; the shift keeps the
// subtraction in σ² well conditioned (|μ − K| is O(σ), not O(|μ|)).
//
// The plane loops are the fvec kernels (kernels/fvec/fvec.h: xsimd per ISA, bit-identical to their scalar
// reference), so the results do not depend on the ISA either. This file holds the per-channel algebra: the
// forward (statistics, running estimates, the affine coefficients) and the backward (dβ, dγ, dx) as two
// functions, and batch_norm, which validates, runs the forward and records the backward.
// x̂ is recomputed from the saved input in the backward instead of being stored (one less activation-sized
// buffer per layer). The activation's gradient window w is saved as one byte per value: exact at the clamp
// bounds (which y alone cannot tell apart from clipped values), and a quarter of the traffic of re-reading y.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "engine/allocator.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/fvec/fvec.h"

namespace lowbit {
using namespace ops_detail;

namespace {

using Act = BatchNormEpilogue::Act;
using kernels::BnAct;
using Window = std::vector<uint8_t, CachedAllocator<uint8_t>>;  // one byte per value (fvec.h)

BnAct fvec_act(Act a) { return a == Act::relu ? BnAct::relu : a == Act::clamp ? BnAct::clamp : BnAct::none; }

// What the backward reads: the forward's input, γ, the statistics it normalised with and the activation window.
struct BnSaved {
  Tensor x, gamma;
  std::vector<float> mean, invstd;
  Window window;  // empty without an activation
  bool training = false;
  int64_t N = 0, C = 0, inner = 0;
};

// Σ over the images of channel c's per-plane partials a[n·C + c], in image order (thread-count independent).
double channel_total(const std::vector<double>& a, int64_t N, int64_t C, int64_t c) {
  double t = 0.0;
  for (int64_t n = 0; n < N; ++n) t += a[static_cast<size_t>(n * C + c)];
  return t;
}

// Training statistics of s.x into s.mean, s.invstd; the running estimates move towards them (if defined).
void batch_statistics(BnSaved& s, Tensor& running_mean, Tensor& running_var, float momentum, float eps) {
  const int64_t N = s.N, C = s.C, inner = s.inner, planes = N * C, m = N * inner;
  const float* xp = s.x.data();
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  std::vector<float> shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) shift[c] = xp[c * inner];
  std::vector<double> s1(static_cast<size_t>(planes)), s2(static_cast<size_t>(planes));
  parallel_for_work(planes, planes * inner, [&](int64_t p) {
    fv.bn_shifted_sums(xp + p * inner, inner, shift[p % C], &s1[p], &s2[p]);
  });
  const bool have_running = running_mean.defined() && running_var.defined();
  for (int64_t c = 0; c < C; ++c) {
    const double t1 = channel_total(s1, N, C, c), t2 = channel_total(s2, N, C, c);
    const double d = t1 / static_cast<double>(m);
    const double var_b = std::max(0.0, t2 / static_cast<double>(m) - d * d);  // biased
    s.mean[c] = static_cast<float>(shift[c] + d);
    s.invstd[c] = static_cast<float>(1.0 / std::sqrt(var_b + eps));
    if (have_running) {
      const double unbiased = var_b * static_cast<double>(m) / static_cast<double>(m - 1);
      running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * s.mean[c];
      running_var[c] = (1.0f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
    }
  }
}

// The forward: statistics (batch or running) into s, then y = act(x·a + b (+ r)) with a = γ·s, b = β − μ·a, and
// the activation's window into s.window.
Tensor batch_norm_forward(BnSaved& s, const float* beta, const float* res, Tensor& running_mean,
                          Tensor& running_var, float momentum, float eps, const BatchNormEpilogue& epilogue) {
  const int64_t C = s.C, inner = s.inner, planes = s.N * C;
  s.mean.resize(static_cast<size_t>(C));
  s.invstd.resize(static_cast<size_t>(C));
  if (s.training) {
    batch_statistics(s, running_mean, running_var, momentum, eps);
  } else {
    for (int64_t c = 0; c < C; ++c) {
      s.mean[c] = running_mean[c];
      s.invstd[c] = 1.0f / std::sqrt(running_var[c] + eps);
    }
  }
  const float* gp = s.gamma.defined() ? s.gamma.data() : nullptr;
  std::vector<float> ca(static_cast<size_t>(C)), cb(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    ca[c] = (gp ? gp[c] : 1.0f) * s.invstd[c];
    cb[c] = (beta ? beta[c] : 0.0f) - s.mean[c] * ca[c];
  }
  Tensor Y = Tensor::empty(s.x.shape());
  const float* xp = s.x.data();
  float* yp = Y.data();
  const BnAct act = fvec_act(epilogue.act);
  if (act != BnAct::none) s.window.resize(static_cast<size_t>(s.x.numel()));
  uint8_t* wp = act != BnAct::none ? s.window.data() : nullptr;
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  const float lo = epilogue.lo, hi = epilogue.hi;
  parallel_for_work(planes, planes * inner * (res ? 3 : 2), [&](int64_t p) {
    const int64_t c = p % C, off = p * inner;
    fv.bn_affine(xp + off, res ? res + off : nullptr, yp + off, wp ? wp + off : nullptr, inner, ca[c], cb[c], act,
                 lo, hi);
  });
  return Y;
}

// The backward for y = batch_norm_forward(...) given dy = ∂L/∂y: gradients of x, γ, β and the residual
// (in[0..3]) as the header derives them.
void batch_norm_backward(const BnSaved& s, const Tensor& dy, std::vector<Var>& in) {
  const int64_t N = s.N, C = s.C, inner = s.inner, planes = N * C, m = N * inner;
  const float* xp = s.x.data();
  const float* gp = s.gamma.defined() ? s.gamma.data() : nullptr;
  const bool windowed = !s.window.empty();
  const uint8_t* wp = windowed ? s.window.data() : nullptr;
  const bool need_x = in[0].requires_grad(), need_r = wants_grad(in, 3);
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  // g' = ∂L/∂z: dy itself without an activation; with one it is written out only when the residual needs it.
  Tensor gz = windowed && need_r ? Tensor::empty(s.x.shape()) : Tensor();
  float* gzp = gz.defined() ? gz.data() : nullptr;
  std::vector<double> sg(static_cast<size_t>(planes)), sgx(static_cast<size_t>(planes));
  parallel_for_work(planes, planes * inner * (gzp ? 4 : 3), [&](int64_t p) {
    const int64_t off = p * inner;
    fv.bn_grad_sums(dy.data() + off, wp ? wp + off : nullptr, xp + off, gzp ? gzp + off : nullptr, inner,
                    s.mean[p % C], &sg[p], &sgx[p]);
  });
  std::vector<float> dgamma(static_cast<size_t>(C)), dbeta(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    dbeta[c] = static_cast<float>(channel_total(sg, N, C, c));
    dgamma[c] = static_cast<float>(channel_total(sgx, N, C, c)) * s.invstd[c];  // Σ g'·x̂
  }
  if (need_x) {
    // dx = k1·g' + k2·x + k3 per channel (training); eval: k2 = k3 = 0.
    std::vector<float> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
    const float inv_m = 1.0f / static_cast<float>(m);
    for (int64_t c = 0; c < C; ++c) {
      const float is = s.invstd[c];
      k1[c] = (gp ? gp[c] : 1.0f) * is;
      k2[c] = s.training ? -k1[c] * inv_m * dgamma[c] * is : 0.0f;
      k3[c] = s.training ? -k1[c] * inv_m * dbeta[c] - k2[c] * s.mean[c] : 0.0f;
    }
    Tensor dx = Tensor::empty(s.x.shape());
    float* dxp = dx.data();
    // From the stored g' when there is one (one stream less than recomputing it from dy and the window).
    const float* gsrc = gzp ? gzp : dy.data();
    const uint8_t* mask = gzp ? nullptr : wp;
    parallel_for_work(planes, planes * inner * 3, [&](int64_t p) {
      const int64_t c = p % C, off = p * inner;
      fv.bn_grad_apply(gsrc + off, mask ? mask + off : nullptr, xp + off, dxp + off, inner, k1[c], k2[c], k3[c]);
    });
    in[0].add_grad(dx);
  }
  if (wants_grad(in, 1)) in[1].add_grad(Tensor::from(Shape{C}, dgamma));
  if (wants_grad(in, 2)) in[2].add_grad(Tensor::from(Shape{C}, dbeta));
  if (need_r) in[3].add_grad(windowed ? gz : dy);
}

}  // namespace

Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum, float eps) {
  return batch_norm(x, gamma, beta, running_mean, running_var, training, momentum, eps, BatchNormEpilogue{});
}

Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum, float eps, const BatchNormEpilogue& epilogue) {
  check_defined(x, "batch_norm", "input");
  const Shape xs = x.shape();
  LOWBIT_CHECK(xs.rank() == 2 || xs.rank() == 4, "batch_norm: input must be [N, C] or [N, C, H, W], got {}",
               xs.str());
  const int64_t N = xs[0], C = xs[1], inner = xs.rank() == 4 ? xs[2] * xs[3] : 1;
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
  LOWBIT_CHECK(!training || N * inner > 1, "batch_norm: training needs more than 1 value per channel, input {}",
               xs.str());
  const Var& res = epilogue.residual;
  if (res.defined())
    LOWBIT_CHECK(res.shape() == xs, "batch_norm: residual has shape {}, expected the input's {}", res.shape().str(),
                 xs.str());
  if (epilogue.act == Act::clamp)
    LOWBIT_CHECK(epilogue.lo < epilogue.hi, "batch_norm: clamp epilogue needs lo < hi, got [{}, {}]", epilogue.lo,
                 epilogue.hi);

  auto saved = std::make_shared<BnSaved>();
  saved->x = x.value();
  if (gamma.defined()) saved->gamma = gamma.value();
  saved->training = training;
  saved->N = N;
  saved->C = C;
  saved->inner = inner;
  Tensor Y = batch_norm_forward(*saved, beta.defined() ? beta.value().data() : nullptr,
                                res.defined() ? res.value().data() : nullptr, running_mean, running_var, momentum,
                                eps, epilogue);
  return Var::make(Y, {x, gamma, beta, res},
                   [saved](const Tensor& dy, std::vector<Var>& in) { batch_norm_backward(*saved, dy, in); });
}

}  // namespace lowbit
