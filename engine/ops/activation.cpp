// Pointwise activations. Backward masks are computed from the saved input (or output where that is cheaper:
// tanh' = 1 − y², σ' = y(1 − y)).
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;


Var relu(const Var& a) {
  // Backward reads only the output (y > 0 ⇔ x > 0), so the input tensor is not kept alive by the closure.
  check_defined(a, "relu", "input");
  Tensor Y = Tensor::empty(a.shape());
  map1(Y.numel(), a.value().data(), Y.data(), [](float x) { return x > 0.0f ? x : 0.0f; });
  return Var::make(Y, {a}, [Y](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(Y.shape());
    map2(Y.numel(), g.data(), Y.data(), gx.data(), [](float gv, float y) { return y > 0.0f ? gv : 0.0f; });
    in[0].add_grad(gx);
  });
}

Var hardtanh(const Var& a, float lo, float hi) {
  LOWBIT_CHECK(lo < hi, "hardtanh: lo ({}) must be below hi ({})", lo, hi);
  return pointwise_masked(
      "hardtanh", a, [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); },
      [lo, hi](float x) { return x >= lo && x <= hi; });
}

Var clip(const Var& a, float lo, float hi) {
  LOWBIT_CHECK(lo < hi, "clip: lo ({}) must be below hi ({})", lo, hi);
  return pointwise_masked(
      "clip", a, [lo, hi](float x) { return x < lo ? lo : (x > hi ? hi : x); },
      [lo, hi](float x) { return x >= lo && x <= hi; });
}

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
