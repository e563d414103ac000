// Inverted dropout. The mask is drawn serially from the caller's Rng, so the result depends only on the seed,
// never on the thread count; survivors are scaled by 1/(1 − p) so the expectation is unchanged.
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

Var dropout(const Var& a, float p, bool training, Rng& rng) {
  check_defined(a, "dropout", "input");
  LOWBIT_CHECK(p >= 0.0f && p < 1.0f, "dropout: p must be in [0, 1), got {}", p);
  if (!training || p == 0.0f) return a;
  const int64_t n = a.value().numel();
  Tensor mask = Tensor::empty(a.shape());
  const float keep_scale = 1.0f / (1.0f - p);
  float* mp = mask.data();
  for (int64_t i = 0; i < n; ++i) mp[i] = rng.uniform() >= p ? keep_scale : 0.0f;
  Tensor Y = Tensor::empty(a.shape());
  const float* xp = a.value().data();
  float* yp = Y.data();
  parallel_for(n, [&](int64_t i) { yp[i] = xp[i] * mp[i]; });
  return Var::make(Y, {a}, [mask, n](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(mask.shape());
    const float* mp = mask.data();
    const float* gp = g.data();
    float* q = gx.data();
    parallel_for(n, [&](int64_t i) { q[i] = gp[i] * mp[i]; });
    in[0].add_grad(gx);
  });
}

}  // namespace lowbit
