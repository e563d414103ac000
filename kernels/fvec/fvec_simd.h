// The fvec kernels (kernels/fvec/fvec.h) written once with xsimd batches; fvec_<isa>.cpp instantiate them for
// their architecture A with that file's ISA flags. Include only from those files.
//
// Sums keep 16 float lanes as kRegs = 16 / size batches (size = 16 on AVX-512, 8 on AVX2, 4 on NEON), so every
// ISA adds the same values in the same order as the reference (fvec.h). Tails run the reference's scalar code.
#pragma once
#include <algorithm>
#include <cstdint>

#include <xsimd/xsimd.hpp>

#include "kernels/fvec/fvec.h"
#include "kernels/fvec/fvec_arch.h"

namespace lowbit::kernels::fvec_simd {
namespace {  // internal linkage: each ISA file keeps its own copies (kernels/README.md)


template <class A>
using F = xsimd::batch<float, A>;
template <class A>
inline constexpr int64_t kSize = static_cast<int64_t>(F<A>::size);
template <class A>
inline constexpr int kRegs = static_cast<int>(16 / F<A>::size);

// Σ over the 16 lanes of v[0..kRegs) in double, lane order.
template <class A>
double lanes_total(const F<A> (&v)[kRegs<A>]) {
  alignas(64) float buf[16];
  for (int r = 0; r < kRegs<A>; ++r) v[r].store_aligned(buf + r * kSize<A>);
  double s = 0.0;
  for (int l = 0; l < 16; ++l) s += buf[l];
  return s;
}

template <class A>
void bn_shifted_sums(const float* x, int64_t n, float k, double* s1, double* s2) {
  const F<A> kv(k);
  F<A> a[kRegs<A>], b[kRegs<A>];
  for (int r = 0; r < kRegs<A>; ++r) a[r] = b[r] = F<A>(0.0f);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int r = 0; r < kRegs<A>; ++r) {
      const F<A> d = F<A>::load_unaligned(x + i + r * kSize<A>) - kv;
      a[r] += d;
      b[r] += d * d;
    }
  double t1 = lanes_total<A>(a), t2 = lanes_total<A>(b);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - k;
    t1 += d;
    t2 += d * d;
  }
  *s1 = t1;
  *s2 = t2;
}

template <class A, bool Res, BnAct Act>
void affine_loop(const float* x, const float* r, float* y, uint8_t* w, int64_t n, float a, float b, float lo,
                 float hi) {
  const F<A> av(a), bv(b), lov(lo), hiv(hi), zero(0.0f);
  int64_t i = 0;
  for (; i + kSize<A> <= n; i += kSize<A>) {
    F<A> z = F<A>::load_unaligned(x + i) * av + bv;
    if (Res) z += F<A>::load_unaligned(r + i);
    if (Act == BnAct::relu) {
      const auto pos = z > zero;
      Window<A>::store(pos, w + i);
      z = xsimd::select(pos, z, zero);
    } else if (Act == BnAct::clamp) {
      Window<A>::store((z >= lov) & (z <= hiv), w + i);
      z = xsimd::select(z < lov, lov, z);
      z = xsimd::select(z > hiv, hiv, z);
    }
    z.store_unaligned(y + i);
  }
  for (; i < n; ++i) {
    float z = x[i] * a + b;
    if (Res) z += r[i];
    if (Act == BnAct::relu) {
      w[i] = z > 0.0f;
      z = z > 0.0f ? z : 0.0f;
    } else if (Act == BnAct::clamp) {
      w[i] = (z >= lo) & (z <= hi);
      z = z < lo ? lo : z;
      z = z > hi ? hi : z;
    }
    y[i] = z;
  }
}

template <class A, bool Res>
void affine_act(const float* x, const float* r, float* y, uint8_t* w, int64_t n, float a, float b, BnAct act,
                float lo, float hi) {
  if (act == BnAct::relu) affine_loop<A, Res, BnAct::relu>(x, r, y, w, n, a, b, lo, hi);
  else if (act == BnAct::clamp) affine_loop<A, Res, BnAct::clamp>(x, r, y, w, n, a, b, lo, hi);
  else affine_loop<A, Res, BnAct::none>(x, r, y, w, n, a, b, lo, hi);
}

template <class A>
void bn_affine(const float* x, const float* r, float* y, uint8_t* w, int64_t n, float a, float b, BnAct act,
               float lo, float hi) {
  if (r) affine_act<A, true>(x, r, y, w, n, a, b, act, lo, hi);
  else affine_act<A, false>(x, r, y, w, n, a, b, act, lo, hi);
}

// g' for the values at g + i (a batch): g where the window byte is set (Masked), else g.
template <class A, bool Masked>
F<A> grad_at(const float* g, const uint8_t* w, int64_t i) {
  const F<A> gv = F<A>::load_unaligned(g + i);
  if (!Masked) return gv;
  return xsimd::select(Window<A>::load(w + i), gv, F<A>(0.0f));
}

// One sum over the values [i0, i1), added to *sg, *sgx (the reference's grad_sums_span).
template <class A, bool Masked, bool Store>
void grad_sums_span(const float* g, const uint8_t* w, const float* x, float* gz, int64_t i0, int64_t i1, float mu,
                    double* sg, double* sgx) {
  const F<A> muv(mu);
  F<A> a[kRegs<A>], b[kRegs<A>];
  for (int r = 0; r < kRegs<A>; ++r) a[r] = b[r] = F<A>(0.0f);
  int64_t i = i0;
  for (; i + 16 <= i1; i += 16)
    for (int r = 0; r < kRegs<A>; ++r) {
      const int64_t j = i + r * kSize<A>;
      const F<A> gv = grad_at<A, Masked>(g, w, j);
      if (Store) gv.store_unaligned(gz + j);
      a[r] += gv;
      b[r] += gv * (F<A>::load_unaligned(x + j) - muv);
    }
  double t1 = lanes_total<A>(a), t2 = lanes_total<A>(b);
  for (; i < i1; ++i) {
    const float gv = Masked && !w[i] ? 0.0f : g[i];
    if (Store) gz[i] = gv;
    t1 += gv;
    t2 += static_cast<double>(gv) * (x[i] - mu);
  }
  *sg += t1;
  *sgx += t2;
}

template <class A, bool Store>
void grad_sums_masked(const float* g, const uint8_t* w, const float* x, float* gz, int64_t n, float mu, double* sg,
                      double* sgx) {
  for (int64_t i = 0; i < n; i += kBnGradChunk)
    grad_sums_span<A, true, Store>(g, w, x, gz, i, std::min(n, i + kBnGradChunk), mu, sg, sgx);
}

template <class A>
void bn_grad_sums(const float* g, const uint8_t* w, const float* x, float* gz, int64_t n, float mu, double* sg,
                  double* sgx) {
  *sg = *sgx = 0.0;
  if (!w) {
    if (gz) grad_sums_span<A, false, true>(g, w, x, gz, 0, n, mu, sg, sgx);
    else grad_sums_span<A, false, false>(g, w, x, gz, 0, n, mu, sg, sgx);
  } else if (gz) {
    grad_sums_masked<A, true>(g, w, x, gz, n, mu, sg, sgx);
  } else {
    grad_sums_masked<A, false>(g, w, x, gz, n, mu, sg, sgx);
  }
}

template <class A, bool Masked>
void grad_apply_loop(const float* g, const uint8_t* w, const float* x, float* dx, int64_t n, float k1, float k2,
                     float k3) {
  const F<A> k1v(k1), k2v(k2), k3v(k3);
  int64_t i = 0;
  for (; i + kSize<A> <= n; i += kSize<A>)
    (k1v * grad_at<A, Masked>(g, w, i) + k2v * F<A>::load_unaligned(x + i) + k3v).store_unaligned(dx + i);
  for (; i < n; ++i) dx[i] = k1 * (Masked && !w[i] ? 0.0f : g[i]) + k2 * x[i] + k3;
}

template <class A>
void bn_grad_apply(const float* g, const uint8_t* w, const float* x, float* dx, int64_t n, float k1, float k2,
                   float k3) {
  if (w) grad_apply_loop<A, true>(g, w, x, dx, n, k1, k2, k3);
  else grad_apply_loop<A, false>(g, w, x, dx, n, k1, k2, k3);
}

// y[i] = f(x[i]) (batches, then f's scalar form on the tail): F is a functor with both call forms.
template <class A, class Fn>
void map1(const float* x, float* y, int64_t n, Fn f) {
  int64_t i = 0;
  for (; i + kSize<A> <= n; i += kSize<A>) f(F<A>::load_unaligned(x + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = f(x[i]);
}
template <class A, class Fn>
void map2(const float* a, const float* b, float* y, int64_t n, Fn f) {
  int64_t i = 0;
  for (; i + kSize<A> <= n; i += kSize<A>)
    f(F<A>::load_unaligned(a + i), F<A>::load_unaligned(b + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = f(a[i], b[i]);
}

// Selects written once for batches and scalars: sel(c, a, b) = c ? a : b.
template <class A>
F<A> sel(const xsimd::batch_bool<float, A>& c, const F<A>& a, const F<A>& b) {
  return xsimd::select(c, a, b);
}
inline float sel(bool c, float a, float b) { return c ? a : b; }
// a / b correctly rounded (fvec_arch.h).
template <class A>
F<A> quot(const F<A>& a, const F<A>& b) {
  return div<A>(a, b);
}
inline float quot(float a, float b) { return a / b; }
template <class T>
auto in_window(const T& t, float lo, float hi, bool open) {
  return open ? (t > T(lo)) & (t < T(hi)) : (t >= T(lo)) & (t <= T(hi));
}

template <class A>
void add(const float* a, const float* b, float* y, int64_t n) {
  map2<A>(a, b, y, n, [](auto u, auto v) { return u + v; });
}

template <class A>
void relu(const float* x, float* y, int64_t n) {
  map1<A>(x, y, n, [](auto v) {
    using T = decltype(v);
    return sel(v > T(0.0f), v, T(0.0f));
  });
}

template <class A>
void clamp(const float* x, float* y, int64_t n, float lo, float hi) {
  map1<A>(x, y, n, [lo, hi](auto v) {
    using T = decltype(v);
    return sel(v < T(lo), T(lo), sel(v > T(hi), T(hi), v));
  });
}

template <class A>
void relu_grad(const float* g, const float* y, float* dx, int64_t n) {
  map2<A>(g, y, dx, n, [](auto gv, auto yv) {
    using T = decltype(gv);
    return sel(yv > T(0.0f), gv, T(0.0f));
  });
}

template <class A>
void window_grad(const float* g, const float* x, float* dx, int64_t n, float d, float lo, float hi, bool open) {
  map2<A>(g, x, dx, n, [d, lo, hi, open](auto gv, auto xv) {
    using T = decltype(gv);
    return sel(in_window(quot(xv, T(d)), lo, hi, open), gv, T(0.0f));
  });
}

// std::min / std::max as selects (the same operand comes out for NaN and equal values).
template <class T>
T min_of(const T& a, const T& b) {
  return sel(b < a, b, a);
}
template <class T>
T max_of(const T& a, const T& b) {
  return sel(a < b, b, a);
}
template <class T>
T round_half_even(const T& u) {
  const T shift(12582912.0f);  // 1.5·2^23
  return (u + shift) - shift;
}

// The code c (as a float) of quantize, for a batch or a scalar.
template <QuantKind K, class T>
T quant_code(const T& x, const QuantizeParams& p) {
  if (K == QuantKind::sign) return sel(x < T(0.0f), T(-1.0f), T(1.0f));
  T u;
  if (K == QuantKind::mul_clamp) u = min_of(max_of(x * T(p.m), T(p.lo)), T(p.hi));
  if (K == QuantKind::div_clamp) u = min_of(max_of(quot(x, T(p.m)), T(p.lo)), T(p.hi));
  if (K == QuantKind::clamp_mul) u = quot(min_of(max_of(x, T(p.lo)), T(p.hi)) * T(p.m), T(p.d));
  return round_half_even(u) + T(p.add);
}

template <class A, QuantKind K, WindowKind W>
bool quantize_loop(const float* x, int16_t* code, float* value, int64_t n, const QuantizeParams& p) {
  const bool open = W == WindowKind::open;
  xsimd::batch_bool<float, A> inside(true);
  int64_t i = 0;
  for (; i + kSize<A> <= n; i += kSize<A>) {
    const F<A> xv = F<A>::load_unaligned(x + i);
    // c is an integer and never −0 (R(u) + add of a zero is +0), so the value from c equals the reference's
    // value from (float)(int16) c.
    const F<A> c = quant_code<K>(xv, p);
    store_codes<A>(c, code + i);
    (F<A>(p.scale) * (c - F<A>(p.zero_point))).store_unaligned(value + i);
    if (W != WindowKind::none) inside = inside & in_window(xv, p.wlo, p.whi, open);
  }
  bool all = xsimd::all(inside);
  for (; i < n; ++i) {
    const int16_t c = static_cast<int16_t>(quant_code<K>(x[i], p));
    code[i] = c;
    value[i] = p.scale * (static_cast<float>(c) - p.zero_point);
    if (W != WindowKind::none) all &= in_window(x[i], p.wlo, p.whi, open);
  }
  return all;
}

template <class A, QuantKind K>
bool quantize_kind(const float* x, int16_t* code, float* value, int64_t n, const QuantizeParams& p) {
  if (p.window == WindowKind::closed) return quantize_loop<A, K, WindowKind::closed>(x, code, value, n, p);
  if (p.window == WindowKind::open) return quantize_loop<A, K, WindowKind::open>(x, code, value, n, p);
  return quantize_loop<A, K, WindowKind::none>(x, code, value, n, p);
}

template <class A>
bool quantize(const float* x, int16_t* code, float* value, int64_t n, const QuantizeParams& p) {
  switch (p.kind) {
    case QuantKind::mul_clamp: return quantize_kind<A, QuantKind::mul_clamp>(x, code, value, n, p);
    case QuantKind::div_clamp: return quantize_kind<A, QuantKind::div_clamp>(x, code, value, n, p);
    case QuantKind::clamp_mul: return quantize_kind<A, QuantKind::clamp_mul>(x, code, value, n, p);
    case QuantKind::sign: return quantize_kind<A, QuantKind::sign>(x, code, value, n, p);
  }
  return true;
}

// The family's table for architecture A.
template <class A>
constexpr FvecKernels table() {
  return {bn_shifted_sums<A>, bn_affine<A>, bn_grad_sums<A>, bn_grad_apply<A>, add<A>,
          relu<A>,            clamp<A>,     relu_grad<A>,    window_grad<A>,   quantize<A>};
}

}  // namespace
}  // namespace lowbit::kernels::fvec_simd
