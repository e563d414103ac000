// Shape ops. reshape/flatten and leading-axis slices are views (no copy); concat and other slices copy.
// A tensor of rank r is viewed around axis d as [outer, D, inner] (outer = Π dims before d, inner = Π after).
#include <cstring>

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
void outer_inner(const Shape& s, int d, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int i = 0; i < d; ++i) outer *= s[i];
  for (int i = d + 1; i < s.rank(); ++i) inner *= s[i];
}
}  // namespace

Var reshape(const Var& a, const Shape& shape) {
  check_defined(a, "reshape", "input");
  const Shape in = a.shape();
  Tensor y = a.value().reshape(shape);
  return Var::make(y, {a}, [in](const Tensor& g, std::vector<Var>& inputs) { inputs[0].add_grad(g.reshape(in)); });
}

Var flatten(const Var& a) {
  check_defined(a, "flatten", "input");
  LOWBIT_CHECK(a.shape().rank() >= 1, "flatten: needs rank >= 1, got {}", a.shape().str());
  const int64_t n = a.shape()[0];
  const int64_t rest = n == 0 ? 0 : a.value().numel() / n;
  return reshape(a, Shape{n, rest});
}

Var concat(const std::vector<Var>& parts, int dim) {
  LOWBIT_CHECK(!parts.empty(), "concat: no inputs");
  for (const Var& p : parts) check_defined(p, "concat", "part");
  const Shape s0 = parts[0].shape();
  const int d = norm_dim(dim, s0.rank(), "concat", s0);
  int64_t total = 0;
  for (const Var& p : parts) {
    const Shape s = p.shape();
    bool ok = s.rank() == s0.rank();
    for (int i = 0; ok && i < s.rank(); ++i) ok = i == d || s[i] == s0[i];
    LOWBIT_CHECK(ok, "concat: part of shape {} does not match {} outside dim {}", s.str(), s0.str(), d);
    total += s[d];
  }
  Shape os = s0;
  os[d] = total;
  int64_t outer, inner;
  outer_inner(os, d, outer, inner);
  Tensor Y = Tensor::empty(os);
  std::vector<int64_t> sizes;
  int64_t off = 0;
  for (const Var& p : parts) {
    const int64_t len = p.shape()[d] * inner;
    const float* src = p.value().data();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(Y.data() + o * total * inner + off, src + o * len, static_cast<size_t>(len) * sizeof(float));
    sizes.push_back(p.shape()[d]);
    off += len;
  }
  return Var::make(Y, parts, [sizes, d, outer, inner, total](const Tensor& g, std::vector<Var>& in) {
    int64_t off = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      const int64_t len = sizes[k] * inner;
      if (in[k].requires_grad()) {
        Tensor gk = Tensor::empty(in[k].shape());
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(gk.data() + o * len, g.data() + o * total * inner + off,
                      static_cast<size_t>(len) * sizeof(float));
        in[k].add_grad(gk);
      }
      off += len;
    }
    (void)d;
  });
}

Var slice(const Var& a, int dim, int64_t begin, int64_t end) {
  check_defined(a, "slice", "input");
  const Shape s = a.shape();
  const int d = norm_dim(dim, s.rank(), "slice", s);
  LOWBIT_CHECK(0 <= begin && begin <= end && end <= s[d], "slice: range [{}, {}) out of bounds for dim {} of {}",
               begin, end, d, s.str());
  int64_t outer, inner;
  outer_inner(s, d, outer, inner);
  const int64_t D = s[d], len = (end - begin) * inner;
  Tensor Y;
  if (d == 0) {
    Y = a.value().slice0(begin, end);
  } else {
    Shape os = s;
    os[d] = end - begin;
    Y = Tensor::empty(os);
    const float* src = a.value().data();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(Y.data() + o * len, src + (o * D + begin) * inner, static_cast<size_t>(len) * sizeof(float));
  }
  return Var::make(Y, {a}, [s, outer, inner, D, begin, len](const Tensor& g, std::vector<Var>& in) {
    Tensor gx = Tensor::zeros(s);
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(gx.data() + (o * D + begin) * inner, g.data() + o * len, static_cast<size_t>(len) * sizeof(float));
    in[0].add_grad(gx);
  });
}

}  // namespace lowbit
