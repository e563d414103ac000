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
// x̂ is recomputed from the saved input in the backward instead of being stored (one less activation-sized
// buffer per layer). The activation's gradient window w is saved as one byte per value: exact at the clamp
// bounds (which y alone cannot tell apart from clipped values), and a quarter of the traffic of re-reading y.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/allocator.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

namespace {

// 16 floats as one value (GCC/Clang vector extension). It lowers to the widest registers the translation unit
// targets (4 SSE2 / 4 NEON registers), so the reductions below vectorise for certain: written as 16 scalar
// accumulators they compiled to scalar adds (the SLP vectoriser gave up on the select).
#if defined(__GNUC__) && !defined(__clang__)
// Passing a 64-byte vector by value is ABI-dependent without AVX-512; these helpers are internal and inlined.
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float f32x16 __attribute__((vector_size(64)));
inline f32x16 load16(const float* p) {
  f32x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store16(float* p, f32x16 v) { std::memcpy(p, &v, sizeof v); }
inline double lanes_sum(f32x16 v) {
  double s = 0.0;
  for (int l = 0; l < 16; ++l) s += v[l];
  return s;
}
// g where the window byte is set, else 0 (a plain loop: GCC vectorises this form, compare-and-pack included;
// the same select through 64-byte vector types was lowered to scalar code).
inline void masked_copy(const float* __restrict g, const uint8_t* __restrict w, float* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = g[i];
    out[i] = w[i] ? v : 0.0f;
  }
}

// S1 = Σ (x − k), S2 = Σ (x − k)² over one plane.
void plane_shifted_sums(const float* __restrict x, int64_t n, float k, double& s1, double& s2) {
  f32x16 a = {}, b = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const f32x16 d = load16(x + i) - k;
    a += d;
    b += d * d;
  }
  double t1 = lanes_sum(a), t2 = lanes_sum(b);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - k;
    t1 += d;
    t2 += d * d;
  }
  s1 = t1;
  s2 = t2;
}

using Act = BatchNormEpilogue::Act;

// y = act(x·a + b (+ r)); the gradient window of act into w (ReLU: z > 0, clamp: lo ≤ z ≤ hi).
template <bool Res, Act A>
void plane_affine(const float* __restrict x, const float* __restrict r, float* __restrict y, uint8_t* __restrict w,
                  int64_t n, float a, float b, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float z = x[i] * a + b;
    if (Res) z += r[i];
    if (A == Act::relu) {
      w[i] = z > 0.0f;
      z = z > 0.0f ? z : 0.0f;
    } else if (A == Act::clamp) {
      w[i] = (z >= lo) & (z <= hi);
      z = z < lo ? lo : z;
      z = z > hi ? hi : z;
    }
    y[i] = z;
  }
}

// Σ g and Σ g·(x − mu) over n values.
void sums_g_gx(const float* __restrict g, const float* __restrict x, int64_t n, float mu, double& sg,
               double& sgx) {
  f32x16 a = {}, b = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const f32x16 gv = load16(g + i);
    a += gv;
    b += gv * (load16(x + i) - mu);
  }
  double t1 = lanes_sum(a), t2 = lanes_sum(b);
  for (; i < n; ++i) {
    t1 += g[i];
    t2 += static_cast<double>(g[i]) * (x[i] - mu);
  }
  sg += t1;
  sgx += t2;
}

// g' = g·w (Masked) or g; Σ g' and Σ g'·(x − mu); g' stored to gz when Store. The masked g' goes through an
// L1-sized buffer (or gz itself) in chunks, then the sums read it.
template <bool Masked, bool Store>
void plane_grad_sums(const float* __restrict g, const uint8_t* __restrict w, const float* __restrict x,
                     float* __restrict gz, int64_t n, float mu, double& sg, double& sgx) {
  sg = sgx = 0.0;
  if (!Masked) {
    sums_g_gx(g, x, n, mu, sg, sgx);
    return;
  }
  constexpr int64_t kChunk = 1024;
  alignas(64) float buf[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t len = std::min(kChunk, n - i);
    float* dst = Store ? gz + i : buf;
    masked_copy(g + i, w + i, dst, len);
    sums_g_gx(dst, x + i, len, mu, sg, sgx);
  }
}

// dx = k1·g' + k2·x + k3 with g' = g·w (Masked) or g.
template <bool Masked>
void plane_grad_apply(const float* __restrict g, const uint8_t* __restrict w, const float* __restrict x,
                      float* __restrict dx, int64_t n, float k1, float k2, float k3) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = g[i];
    const float gv = Masked ? (w[i] ? v : 0.0f) : v;
    dx[i] = k1 * gv + k2 * x[i] + k3;
  }
}

// Σ over the images of channel c's per-plane partials a[n·C + c], in image order (thread-count independent).
double channel_total(const std::vector<double>& a, int64_t N, int64_t C, int64_t c) {
  double t = 0.0;
  for (int64_t n = 0; n < N; ++n) t += a[static_cast<size_t>(n * C + c)];
  return t;
}

using AffineFn = void (*)(const float*, const float*, float*, uint8_t*, int64_t, float, float, float, float);
template <bool Res>
AffineFn pick_affine_act(Act a) {
  if (a == Act::relu) return plane_affine<Res, Act::relu>;
  if (a == Act::clamp) return plane_affine<Res, Act::clamp>;
  return plane_affine<Res, Act::none>;
}
AffineFn pick_affine(bool res, Act a) { return res ? pick_affine_act<true>(a) : pick_affine_act<false>(a); }
using GradSumsFn = void (*)(const float*, const uint8_t*, const float*, float*, int64_t, float, double&, double&);
GradSumsFn pick_grad_sums(bool masked, bool store) {
  if (masked) return store ? plane_grad_sums<true, true> : plane_grad_sums<true, false>;
  return plane_grad_sums<false, false>;  // without a window g' = g: nothing to store
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
  const int64_t m = N * inner, planes = N * C;
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
  const Var& res = epilogue.residual;
  const bool has_res = res.defined();
  if (has_res)
    LOWBIT_CHECK(res.shape() == xs, "batch_norm: residual has shape {}, expected the input's {}", res.shape().str(),
                 xs.str());
  const Act act = epilogue.act;
  const bool windowed = act != Act::none;  // the activation has a gradient window to save
  if (act == Act::clamp)
    LOWBIT_CHECK(epilogue.lo < epilogue.hi, "batch_norm: clamp epilogue needs lo < hi, got [{}, {}]", epilogue.lo,
                 epilogue.hi);

  Tensor X = x.value();
  Tensor G = gamma.defined() ? gamma.value() : Tensor();
  const float* xp = X.data();
  const float* gp = G.defined() ? G.data() : nullptr;
  const float* bp = beta.defined() ? beta.value().data() : nullptr;
  auto mean_c = std::make_shared<std::vector<float>>(static_cast<size_t>(C));
  auto invstd_c = std::make_shared<std::vector<float>>(static_cast<size_t>(C));

  if (training) {
    std::vector<float> shift(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) shift[c] = xp[c * inner];
    std::vector<double> s1(static_cast<size_t>(planes)), s2(static_cast<size_t>(planes));
    parallel_for_work(planes, planes * inner, [&](int64_t p) {
      plane_shifted_sums(xp + p * inner, inner, shift[p % C], s1[p], s2[p]);
    });
    for (int64_t c = 0; c < C; ++c) {
      const double t1 = channel_total(s1, N, C, c), t2 = channel_total(s2, N, C, c);
      const double d = t1 / static_cast<double>(m);
      const double var_b = std::max(0.0, t2 / static_cast<double>(m) - d * d);  // biased
      (*mean_c)[c] = static_cast<float>(shift[c] + d);
      (*invstd_c)[c] = static_cast<float>(1.0 / std::sqrt(var_b + eps));
      if (have_running) {
        const double unbiased = var_b * static_cast<double>(m) / static_cast<double>(m - 1);
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * (*mean_c)[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * static_cast<float>(unbiased);
      }
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      (*mean_c)[c] = running_mean[c];
      (*invstd_c)[c] = 1.0f / std::sqrt(running_var[c] + eps);
    }
  }
  // z = x·a + b with a = γ·s, b = β − μ·a.
  std::vector<float> ca(static_cast<size_t>(C)), cb(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    ca[c] = (gp ? gp[c] : 1.0f) * (*invstd_c)[c];
    cb[c] = (bp ? bp[c] : 0.0f) - (*mean_c)[c] * ca[c];
  }
  Tensor Y = Tensor::empty(xs);
  float* yp = Y.data();
  const float* rp = has_res ? res.value().data() : nullptr;
  // One byte per value: the activation's gradient window (only when there is an activation).
  using Window = std::vector<uint8_t, CachedAllocator<uint8_t>>;
  auto window = std::make_shared<Window>();
  if (windowed) window->resize(static_cast<size_t>(xs.numel()));
  uint8_t* wp = windowed ? window->data() : nullptr;
  const AffineFn affine = pick_affine(has_res, act);
  const float lo = epilogue.lo, hi = epilogue.hi;
  parallel_for_work(planes, planes * inner * (has_res ? 3 : 2), [&](int64_t p) {
    const int64_t c = p % C, off = p * inner;
    affine(xp + off, rp ? rp + off : nullptr, yp + off, wp ? wp + off : nullptr, inner, ca[c], cb[c], lo, hi);
  });

  return Var::make(Y, {x, gamma, beta, res}, [X, G, window, mean_c, invstd_c, training, windowed, N, C, inner, m](
                                                  const Tensor& dy, std::vector<Var>& in) {
    const int64_t planes = N * C;
    const float* xp = X.data();
    const float* gp = G.defined() ? G.data() : nullptr;
    const uint8_t* wp = windowed ? window->data() : nullptr;
    const bool need_x = in[0].requires_grad(), need_r = wants_grad(in, 3);
    // g' = ∂L/∂z: dy itself without an activation; with one it is written out only when the residual needs it.
    Tensor gz = windowed && need_r ? Tensor::empty(X.shape()) : Tensor();
    float* gzp = gz.defined() ? gz.data() : nullptr;
    std::vector<double> sg(static_cast<size_t>(planes)), sgx(static_cast<size_t>(planes));
    const GradSumsFn sums = pick_grad_sums(windowed, gzp != nullptr);
    parallel_for_work(planes, planes * inner * (gzp ? 4 : 3), [&](int64_t p) {
      const int64_t off = p * inner;
      sums(dy.data() + off, wp ? wp + off : nullptr, xp + off, gzp ? gzp + off : nullptr, inner,
           (*mean_c)[p % C], sg[p], sgx[p]);
    });
    std::vector<float> dgamma(static_cast<size_t>(C)), dbeta(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      const double t1 = channel_total(sg, N, C, c), t2 = channel_total(sgx, N, C, c);
      dbeta[c] = static_cast<float>(t1);
      dgamma[c] = static_cast<float>(t2) * (*invstd_c)[c];  // Σ g'·x̂
    }
    if (need_x) {
      // dx = k1·g' + k2·x + k3 per channel (training); eval: k2 = k3 = 0.
      std::vector<float> k1(static_cast<size_t>(C)), k2(static_cast<size_t>(C)), k3(static_cast<size_t>(C));
      const float inv_m = 1.0f / static_cast<float>(m);
      for (int64_t c = 0; c < C; ++c) {
        const float is = (*invstd_c)[c];
        k1[c] = (gp ? gp[c] : 1.0f) * is;
        k2[c] = training ? -k1[c] * inv_m * dgamma[c] * is : 0.0f;
        k3[c] = training ? -k1[c] * inv_m * dbeta[c] - k2[c] * (*mean_c)[c] : 0.0f;
      }
      Tensor dx = Tensor::empty(X.shape());
      float* dxp = dx.data();
      // From the stored g' when there is one (one stream less than recomputing it from dy and the window).
      const float* gsrc = gzp ? gzp : dy.data();
      const bool mask = windowed && !gzp;
      parallel_for_work(planes, planes * inner * 3, [&](int64_t p) {
        const int64_t c = p % C, off = p * inner;
        if (mask) plane_grad_apply<true>(gsrc + off, wp + off, xp + off, dxp + off, inner, k1[c], k2[c], k3[c]);
        else plane_grad_apply<false>(gsrc + off, nullptr, xp + off, dxp + off, inner, k1[c], k2[c], k3[c]);
      });
      in[0].add_grad(dx);
    }
    if (wants_grad(in, 1)) in[1].add_grad(Tensor::from(Shape{C}, dgamma));
    if (wants_grad(in, 2)) in[2].add_grad(Tensor::from(Shape{C}, dbeta));
    if (need_r) in[3].add_grad(windowed ? gz : dy);
  });
}

}  // namespace lowbit
