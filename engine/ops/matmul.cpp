// matmul and linear on top of sgemm. For Y = X·Wᵀ + b (linear, W stored [out, in] as in PyTorch):
//   dX = dY·W        [N, out]·[out, in]
//   dW = dYᵀ·X       [out, N]·[N, in]
//   db = Σ_n dY[n, :]
// For C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC.
#include "engine/gemm.h"
#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

Var matmul(const Var& a, const Var& b) {
  check_rank(a, 2, "matmul", "a");
  check_rank(b, 2, "matmul", "b");
  const Shape as = a.shape(), bs = b.shape();
  LOWBIT_CHECK(as[1] == bs[0], "matmul: inner dimensions differ: a {} x b {}", as.str(), bs.str());
  const int64_t M = as[0], K = as[1], N = bs[1];
  Tensor A = a.value(), B = b.value();
  Tensor C = Tensor::empty(Shape{M, N});
  sgemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  return Var::make(C, {a, b}, [A, B, M, N, K](const Tensor& g, std::vector<Var>& in) {
    if (in[0].requires_grad()) {
      Tensor ga = Tensor::empty(A.shape());
      sgemm(false, true, M, K, N, 1.0f, g.data(), N, B.data(), N, 0.0f, ga.data(), K);
      in[0].add_grad(ga);
    }
    if (in[1].requires_grad()) {
      Tensor gb = Tensor::empty(B.shape());
      sgemm(true, false, K, N, M, 1.0f, A.data(), K, g.data(), N, 0.0f, gb.data(), N);
      in[1].add_grad(gb);
    }
  });
}

Var linear(const Var& x, const Var& w, const Var& b) {
  check_rank(x, 2, "linear", "input");
  check_rank(w, 2, "linear", "weight");
  const Shape xs = x.shape(), ws = w.shape();
  LOWBIT_CHECK(xs[1] == ws[1], "linear: input {} has {} features, weight {} expects {}", xs.str(), xs[1], ws.str(),
               ws[1]);
  const bool has_bias = b.defined();
  if (has_bias)
    LOWBIT_CHECK(b.shape() == Shape{ws[0]}, "linear: bias {} must be [{}] for weight {}", b.shape().str(), ws[0],
                 ws.str());
  const int64_t N = xs[0], I = xs[1], O = ws[0];
  Tensor X = x.value(), W = w.value();
  Tensor Y = Tensor::empty(Shape{N, O});
  if (has_bias) {
    const float* bp = b.value().data();
    float* yp = Y.data();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o) yp[n * O + o] = bp[o];
  }
  sgemm(false, true, N, O, I, 1.0f, X.data(), I, W.data(), I, has_bias ? 1.0f : 0.0f, Y.data(), O);
  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return Var::make(Y, std::move(inputs), [X, W](const Tensor& g, std::vector<Var>& in) {
    Tensor gx, gw, gb;
    linear_backward(X, W, g, in[0].requires_grad() ? &gx : nullptr, in[1].requires_grad() ? &gw : nullptr,
                    wants_grad(in, 2) ? &gb : nullptr);
    if (gx.defined()) in[0].add_grad(gx);
    if (gw.defined()) in[1].add_grad(gw);
    if (gb.defined()) in[2].add_grad(gb);
  });
}

void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db) {
  const int64_t N = x.dim(0), I = x.dim(1), O = w.dim(0);
  LOWBIT_CHECK(w.dim(1) == I && dy.shape() == Shape({N, O}), "linear_backward: dy {} does not fit x {} and w {}",
               dy.shape().str(), x.shape().str(), w.shape().str());
  if (dx) {
    *dx = Tensor::empty(x.shape());
    sgemm(false, false, N, I, O, 1.0f, dy.data(), O, w.data(), I, 0.0f, dx->data(), I);
  }
  if (dw) {
    *dw = Tensor::empty(w.shape());
    sgemm(true, false, O, I, N, 1.0f, dy.data(), O, x.data(), I, 0.0f, dw->data(), I);
  }
  if (db) {
    *db = Tensor::empty(Shape{O});
    const float* gp = dy.data();
    for (int64_t o = 0; o < O; ++o) {
      double s = 0.0;
      for (int64_t n = 0; n < N; ++n) s += gp[n * O + o];
      (*db)[o] = static_cast<float>(s);
    }
  }
}

}  // namespace lowbit
