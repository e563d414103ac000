// Elementwise arithmetic with the narrow broadcasting of ops.h. Each op is its forward loop plus a backward
// closure; derivatives are written as small inline lambdas so the loops compile to straight code.
//
// Broadcast: the "full" operand has the output shape; the "small" one equals it, or is a scalar (1 element),
// or is per-channel [C] against [N, C] / [N, C, H, W]. The gradient of the small operand sums the full-size
// gradient over the broadcast axes (in a fixed order, so it is deterministic).
#include <cmath>

#include "engine/ops.h"
#include "engine/ops/common.h"
#include "kernels/fvec/fvec.h"

namespace lowbit {
using namespace ops_detail;

namespace {

struct Bcast {
  enum Kind { same, scalar, channel } kind = same;
  bool small_is_a = false;
  Shape out;
  int64_t n = 0;      // output elements
  int64_t C = 1;      // channels (channel mode)
  int64_t inner = 1;  // elements per (n, c) in channel mode
  int64_t outer = 1;
};

bool is_channel_of(const Shape& big, const Shape& small) {
  return small.rank() == 1 && (big.rank() == 2 || big.rank() == 4) && big[1] == small[0];
}

Bcast classify(const Shape& a, const Shape& b, const char* op) {
  Bcast bc;
  if (a == b) {
    bc.kind = Bcast::same;
    bc.out = a;
  } else if (b.numel() == 1) {
    bc.kind = Bcast::scalar;
    bc.out = a;
  } else if (a.numel() == 1) {
    bc.kind = Bcast::scalar;
    bc.small_is_a = true;
    bc.out = b;
  } else if (is_channel_of(a, b)) {
    bc.kind = Bcast::channel;
    bc.out = a;
  } else if (is_channel_of(b, a)) {
    bc.kind = Bcast::channel;
    bc.small_is_a = true;
    bc.out = b;
  } else {
    throw Error(fmt::format(
        "{}: shapes {} and {} do not broadcast (need equal shapes, a 1-element operand, or per-channel [C] "
        "against [N, C] or [N, C, H, W])",
        op, a.str(), b.str()));
  }
  bc.n = bc.out.numel();
  if (bc.kind == Bcast::channel) {
    bc.C = bc.out[1];
    bc.outer = bc.out[0];
    bc.inner = bc.out.rank() == 4 ? bc.out[2] * bc.out[3] : 1;
  }
  return bc;
}

// Calls f(i, j) for every output index i with j the index into the small operand.
template <class F>
void bcast_for(const Bcast& bc, F f) {
  switch (bc.kind) {
    case Bcast::same:
      parallel_for(bc.n, [&](int64_t i) { f(i, i); });
      break;
    case Bcast::scalar:
      parallel_for(bc.n, [&](int64_t i) { f(i, int64_t(0)); });
      break;
    case Bcast::channel:
      parallel_for_work(bc.outer * bc.C, bc.n, [&](int64_t oc) {
        const int64_t c = oc % bc.C, base = oc * bc.inner;
        for (int64_t k = 0; k < bc.inner; ++k) f(base + k, c);
      });
      break;
  }
}

// Gradient for the small operand: sums term(i, j) over all output indices i that map to small index j.
template <class F>
Tensor reduce_to_small(const Bcast& bc, const Shape& small_shape, F term) {
  Tensor g = Tensor::empty(small_shape);
  float* gp = g.data();
  switch (bc.kind) {
    case Bcast::same:
      parallel_for(bc.n, [&](int64_t i) { gp[i] = term(i, i); });
      break;
    case Bcast::scalar:
      gp[0] = static_cast<float>(det_sum(bc.n, [&](int64_t i) { return term(i, int64_t(0)); }));
      break;
    case Bcast::channel:
      parallel_for_work(bc.C, bc.n, [&](int64_t c) {
        double s = 0.0;
        for (int64_t o = 0; o < bc.outer; ++o) {
          const int64_t base = (o * bc.C + c) * bc.inner;
          s += block_sum(base, base + bc.inner, [&](int64_t i) { return term(i, c); });
        }
        gp[c] = static_cast<float>(s);
      });
      break;
  }
  return g;
}

// out = f(a, b); da(a, b, out) and db(a, b, out) are the partial derivatives.
template <class Fwd, class Da, class Db>
Var binary(const char* op, const Var& a, const Var& b, Fwd f, Da da, Db db) {
  check_defined(a, op, "a");
  check_defined(b, op, "b");
  const Bcast bc = classify(a.shape(), b.shape(), op);
  Tensor A = a.value(), B = b.value();
  Tensor out = Tensor::empty(bc.out);
  {
    const float* ap = A.data();
    const float* bp = B.data();
    float* op_ = out.data();
    if (bc.small_is_a)
      bcast_for(bc, [&](int64_t i, int64_t j) { op_[i] = f(ap[j], bp[i]); });
    else
      bcast_for(bc, [&](int64_t i, int64_t j) { op_[i] = f(ap[i], bp[j]); });
  }
  return Var::make(out, {a, b}, [bc, A, B, out, da, db](const Tensor& g, std::vector<Var>& in) {
    const float* ap = A.data();
    const float* bp = B.data();
    const float* yp = out.data();
    const float* gp = g.data();
    // Index of the a- and b-value for output i / small index j.
    auto ai = [&](int64_t i, int64_t j) { return bc.small_is_a ? ap[j] : ap[i]; };
    auto bi = [&](int64_t i, int64_t j) { return bc.small_is_a ? bp[i] : bp[j]; };
    if (in[0].requires_grad()) {
      auto term = [&](int64_t i, int64_t j) { return gp[i] * da(ai(i, j), bi(i, j), yp[i]); };
      if (bc.small_is_a) {
        in[0].add_grad(reduce_to_small(bc, A.shape(), term));
      } else {
        Tensor ga = Tensor::empty(A.shape());
        float* gap = ga.data();
        bcast_for(bc, [&](int64_t i, int64_t j) { gap[i] = term(i, j); });
        in[0].add_grad(ga);
      }
    }
    if (in[1].requires_grad()) {
      auto term = [&](int64_t i, int64_t j) { return gp[i] * db(ai(i, j), bi(i, j), yp[i]); };
      if (!bc.small_is_a && bc.kind != Bcast::same) {
        in[1].add_grad(reduce_to_small(bc, B.shape(), term));
      } else {
        Tensor gb = Tensor::empty(B.shape());
        float* gbp = gb.data();
        bcast_for(bc, [&](int64_t i, int64_t j) { gbp[i] = term(i, j); });
        in[1].add_grad(gb);
      }
    }
  });
}

}  // namespace

Var add(const Var& a, const Var& b) {
  if (a.defined() && b.defined() && a.shape() == b.shape()) {
    // Same-shape add (residual connections): the gradient passes through to both inputs without a copy.
    check_defined(a, "add", "a");
    Tensor A = a.value(), B = b.value();
    Tensor out = Tensor::empty(A.shape());
    const float* ap = A.data();
    const float* bp = B.data();
    float* yp = out.data();
    const kernels::FvecKernels& fv = kernels::fvec_kernels();
    for_each_thread_range(out.numel(), kParallelGrain,
                          [&](int64_t lo, int64_t hi) { fv.add(ap + lo, bp + lo, yp + lo, hi - lo); });
    return Var::make(out, {a, b}, [](const Tensor& g, std::vector<Var>& in) {
      if (in[0].requires_grad()) in[0].add_grad(g);
      if (in[1].requires_grad()) in[1].add_grad(g);
    });
  }
  return binary(
      "add", a, b, [](float x, float y) { return x + y; }, [](float, float, float) { return 1.0f; },
      [](float, float, float) { return 1.0f; });
}

Var sub(const Var& a, const Var& b) {
  return binary(
      "sub", a, b, [](float x, float y) { return x - y; }, [](float, float, float) { return 1.0f; },
      [](float, float, float) { return -1.0f; });
}

Var mul(const Var& a, const Var& b) {
  return binary(
      "mul", a, b, [](float x, float y) { return x * y; }, [](float, float y, float) { return y; },
      [](float x, float, float) { return x; });
}

Var div(const Var& a, const Var& b) {
  // d(x/y)/dx = 1/y, d(x/y)/dy = −x/y² = −out/y.
  return binary(
      "div", a, b, [](float x, float y) { return x / y; }, [](float, float y, float) { return 1.0f / y; },
      [](float, float y, float out) { return -out / y; });
}

Var add(const Var& a, float s) {
  check_defined(a, "add", "input");
  Tensor X = a.value();
  Tensor Y = Tensor::empty(X.shape());
  const float* xp = X.data();
  float* yp = Y.data();
  parallel_for(X.numel(), [&](int64_t i) { yp[i] = xp[i] + s; });
  return Var::make(Y, {a}, [](const Tensor& g, std::vector<Var>& in) { in[0].add_grad(g); });
}

Var mul(const Var& a, float s) {
  return pointwise("mul", a, [s](float x) { return x * s; }, [s](float, float) { return s; });
}

Var neg(const Var& a) {
  return pointwise("neg", a, [](float x) { return -x; }, [](float, float) { return -1.0f; });
}

Var abs(const Var& a) {
  return pointwise(
      "abs", a, [](float x) { return std::fabs(x); },
      [](float x, float) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); });
}

Var exp(const Var& a) {
  return pointwise("exp", a, [](float x) { return std::exp(x); }, [](float, float y) { return y; });
}

Var log(const Var& a) {
  return pointwise("log", a, [](float x) { return std::log(x); }, [](float x, float) { return 1.0f / x; });
}

Var sqrt(const Var& a) {
  return pointwise("sqrt", a, [](float x) { return std::sqrt(x); }, [](float, float y) { return 0.5f / y; });
}

Var square(const Var& a) {
  return pointwise("square", a, [](float x) { return x * x; }, [](float x, float) { return 2.0f * x; });
}

}  // namespace lowbit
