// Reductions. Sums use ops_detail::det_sum (fixed blocks, double across blocks) so the result does not depend on
// the thread count. sum_dim views the input as [outer, D, inner] and reduces the middle axis.
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

namespace {
int norm_dim(int dim, int rank, const char* op, const Shape& s) {
  const int d = dim < 0 ? dim + rank : dim;
  LOWBIT_CHECK(d >= 0 && d < rank, "{}: dim {} out of range for shape {}", op, dim, s.str());
  return d;
}

Var sum_scaled(const Var& a, float scale, const char* op) {
  check_defined(a, op, "input");
  Tensor X = a.value();
  const float* xp = X.data();
  const double s = det_sum(X.numel(), [&](int64_t i) { return xp[i]; });
  Tensor y = Tensor::scalar(static_cast<float>(s * scale));
  const Shape xs = X.shape();
  return Var::make(y, {a}, [xs, scale](const Tensor& g, std::vector<Var>& in) {
    in[0].add_grad(Tensor::full(xs, g[0] * scale));
  });
}

Var sum_dim_scaled(const Var& a, int dim, bool keepdim, bool mean, const char* op) {
  check_defined(a, op, "input");
  const Shape xs = a.shape();
  const int d = norm_dim(dim, xs.rank(), op, xs);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= xs[i];
  for (int i = d + 1; i < xs.rank(); ++i) inner *= xs[i];
  const int64_t D = xs[d];
  const float scale = mean ? (D > 0 ? 1.0f / static_cast<float>(D) : 0.0f) : 1.0f;
  std::vector<int64_t> od;
  for (int i = 0; i < xs.rank(); ++i) {
    if (i != d) od.push_back(xs[i]);
    else if (keepdim) od.push_back(1);
  }
  Tensor Y = Tensor::empty(Shape(od));
  const float* xp = a.value().data();
  float* yp = Y.data();
  parallel_for_work(outer * inner, xs.numel(), [&](int64_t oi) {
    const int64_t o = oi / inner, k = oi % inner;
    const float* p = xp + o * D * inner + k;
    double s = 0.0;
    for (int64_t j = 0; j < D; ++j) s += p[j * inner];
    yp[oi] = static_cast<float>(s * scale);
  });
  return Var::make(Y, {a}, [xs, outer, inner, D, scale](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::empty(xs);
    const float* gp = g.data();
    float* gxp = gx.data();
    parallel_for_work(outer * D, xs.numel(), [&](int64_t od_) {
      const int64_t o = od_ / D;
      float* q = gxp + od_ * inner;
      const float* gr = gp + o * inner;
      for (int64_t k = 0; k < inner; ++k) q[k] = gr[k] * scale;
    });
    in[0].add_grad(gx);
  });
}
}  // namespace

Var sum(const Var& a) { return sum_scaled(a, 1.0f, "sum"); }

Var mean(const Var& a) {
  check_defined(a, "mean", "input");
  LOWBIT_CHECK(a.value().numel() > 0, "mean: empty input of shape {}", a.shape().str());
  return sum_scaled(a, 1.0f / static_cast<float>(a.value().numel()), "mean");
}

Var max_all(const Var& a) {
  check_defined(a, "max_all", "input");
  const Tensor& X = a.value();
  const int64_t n = X.numel();
  LOWBIT_CHECK(n > 0, "max_all: empty input of shape {}", X.shape().str());
  const float* xp = X.data();
  int64_t arg = 0;
  for (int64_t i = 1; i < n; ++i)
    if (xp[i] > xp[arg]) arg = i;
  const Shape xs = X.shape();
  return Var::make(Tensor::scalar(xp[arg]), {a}, [xs, arg](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::zeros(xs);
    gx[arg] = g[0];
    in[0].add_grad(gx);
  });
}

Var sum_dim(const Var& a, int dim, bool keepdim) { return sum_dim_scaled(a, dim, keepdim, false, "sum_dim"); }
Var mean_dim(const Var& a, int dim, bool keepdim) { return sum_dim_scaled(a, dim, keepdim, true, "mean_dim"); }

}  // namespace lowbit
