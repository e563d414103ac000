// Pointwise activations. Backward masks are computed from the saved input (or output where that is cheaper:
// tanh' = 1 − y², σ' = y(1 − y)). ReLU and the clamps run the fvec kernels (kernels/fvec/fvec.h, per ISA).
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/fvec/fvec.h"

namespace lowbit {
using namespace ops_detail;

Var relu(const Var& a) {
  // Backward reads only the output (y > 0 ⇔ x > 0), so the input tensor is not kept alive by the closure.
  check_defined(a, "relu", "input");
  Tensor Y = Tensor::empty(a.shape());
  const float* xp = a.value().data();
  float* yp = Y.data();
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  for_each_thread_range(Y.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) { fv.relu(xp + lo, yp + lo, hi - lo); });
  return Var::make(Y, {a}, [Y](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(Y.shape());
    const float* gp = g.data();
    const float* yp = Y.data();
    float* dp = gx.data();
    const kernels::FvecKernels& fv = kernels::fvec_kernels();
    for_each_thread_range(Y.numel(), kParallelGrain,
                          [&](int64_t lo, int64_t hi) { fv.relu_grad(gp + lo, yp + lo, dp + lo, hi - lo); });
    in[0].add_grad(gx);
  });
}

namespace {
// y = min(max(x, lo), hi) (as selects, x < lo ? lo : (x > hi ? hi : x)); backward g where lo ≤ x ≤ hi (the
// bounds pass), read from the saved input.
Var clamp_op(const char* op, const Var& a, float lo, float hi) {
  LOWBIT_CHECK(lo < hi, "{}: lo ({}) must be below hi ({})", op, lo, hi);
  check_defined(a, op, "input");
  Tensor X = a.value();
  Tensor Y = Tensor::empty(X.shape());
  const float* xp = X.data();
  float* yp = Y.data();
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  for_each_thread_range(X.numel(), kParallelGrain,
                        [&](int64_t i0, int64_t i1) { fv.clamp(xp + i0, yp + i0, i1 - i0, lo, hi); });
  return Var::make(Y, {a}, [X, lo, hi](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(X.shape());
    const float* gp = g.data();
    const float* xp = X.data();
    float* dp = gx.data();
    const kernels::FvecKernels& fv = kernels::fvec_kernels();
    for_each_thread_range(X.numel(), kParallelGrain, [&](int64_t i0, int64_t i1) {
      fv.window_grad(gp + i0, xp + i0, dp + i0, i1 - i0, 1.0f, lo, hi, /*open=*/false);
    });
    in[0].add_grad(gx);
  });
}
}  // namespace

Var hardtanh(const Var& a, float lo, float hi) { return clamp_op("hardtanh", a, lo, hi); }

Var clip(const Var& a, float lo, float hi) { return clamp_op("clip", a, lo, hi); }

Var tanh(const Var& a) {
  return pointwise(
      "tanh", a, [](float x) { return std::tanh(x); }, [](float, float y) { return 1.0f - y * y; });
}

Var sigmoid(const Var& a) {
  return pointwise(
      "sigmoid", a,
      [](float x) {
        // Stable for large |x|: never exponentiates a large positive number.
        if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
        const float e = std::exp(x);
        return e / (1.0f + e);
      },
      [](float, float y) { return y * (1.0f - y); });
}

Var sign_ste(const Var& a, float clip_at) {
  if (clip_at <= 0.0f)
    return pointwise(
        "sign_ste", a, [](float x) { return x >= 0.0f ? 1.0f : -1.0f; }, [](float, float) { return 1.0f; });
  return pointwise(
      "sign_ste", a, [](float x) { return x >= 0.0f ? 1.0f : -1.0f; },
      [clip_at](float x, float) { return std::fabs(x) <= clip_at ? 1.0f : 0.0f; });
}

}  // namespace lowbit
