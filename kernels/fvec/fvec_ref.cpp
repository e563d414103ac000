// fvec scalar reference (kernels/fvec/fvec.h): the same sums, lanes and selects as the xsimd variants, one value
// at a time. Always compiled, also for firmware.
#include <algorithm>

#include "kernels/fvec/fvec.h"

namespace lowbit::kernels {
namespace {

constexpr int kLanes = 16;

double lanes_total(const float (&v)[kLanes]) {
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

void bn_shifted_sums_ref(const float* x, int64_t n, float k, double* s1, double* s2) {
  float a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float d = x[i + l] - k;
      a[l] += d;
      b[l] += d * d;
    }
  double t1 = lanes_total(a), t2 = lanes_total(b);
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - k;
    t1 += d;
    t2 += d * d;
  }
  *s1 = t1;
  *s2 = t2;
}

void bn_affine_ref(const float* x, const float* r, float* y, uint8_t* w, int64_t n, float a, float b, BnAct act,
                   float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    float z = x[i] * a + b;
    if (r) z += r[i];
    if (act == BnAct::relu) {
      w[i] = z > 0.0f;
      z = z > 0.0f ? z : 0.0f;
    } else if (act == BnAct::clamp) {
      w[i] = (z >= lo) & (z <= hi);
      z = z < lo ? lo : z;
      z = z > hi ? hi : z;
    }
    y[i] = z;
  }
}

float masked(const float* g, const uint8_t* w, int64_t i) { return w && !w[i] ? 0.0f : g[i]; }

// One sum of the values [i0, i1) (i1 − i0 ≤ kBnGradChunk, or the whole plane without a window).
void grad_sums_span(const float* g, const uint8_t* w, const float* x, float* gz, int64_t i0, int64_t i1, float mu,
                    double* sg, double* sgx) {
  float a[kLanes] = {}, b[kLanes] = {};
  int64_t i = i0;
  for (; i + kLanes <= i1; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float gv = masked(g, w, i + l);
      if (gz) gz[i + l] = gv;
      a[l] += gv;
      b[l] += gv * (x[i + l] - mu);
    }
  double t1 = lanes_total(a), t2 = lanes_total(b);
  for (; i < i1; ++i) {
    const float gv = masked(g, w, i);
    if (gz) gz[i] = gv;
    t1 += gv;
    t2 += static_cast<double>(gv) * (x[i] - mu);
  }
  *sg += t1;
  *sgx += t2;
}

void bn_grad_sums_ref(const float* g, const uint8_t* w, const float* x, float* gz, int64_t n, float mu, double* sg,
                      double* sgx) {
  *sg = *sgx = 0.0;
  if (!w) {
    grad_sums_span(g, nullptr, x, gz, 0, n, mu, sg, sgx);
    return;
  }
  for (int64_t i = 0; i < n; i += kBnGradChunk)
    grad_sums_span(g, w, x, gz, i, std::min(n, i + kBnGradChunk), mu, sg, sgx);
}

void bn_grad_apply_ref(const float* g, const uint8_t* w, const float* x, float* dx, int64_t n, float k1, float k2,
                       float k3) {
  for (int64_t i = 0; i < n; ++i) dx[i] = k1 * masked(g, w, i) + k2 * x[i] + k3;
}

void add_ref(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void relu_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void clamp_ref(const float* x, float* y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

void relu_grad_ref(const float* g, const float* y, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

bool in_window(float t, float lo, float hi, bool open) { return open ? (t > lo) & (t < hi) : (t >= lo) & (t <= hi); }

void window_grad_ref(const float* g, const float* x, float* dx, int64_t n, float d, float lo, float hi, bool open) {
  for (int64_t i = 0; i < n; ++i) dx[i] = in_window(x[i] / d, lo, hi, open) ? g[i] : 0.0f;
}

float round_half_even(float u) {
  constexpr float kShift = 12582912.0f;  // 1.5·2^23
  return (u + kShift) - kShift;
}

float quant_code(float x, const QuantizeParams& p) {
  switch (p.kind) {
    case QuantKind::mul_clamp: return round_half_even(std::min(std::max(x * p.m, p.lo), p.hi)) + p.add;
    case QuantKind::div_clamp: return round_half_even(std::min(std::max(x / p.m, p.lo), p.hi)) + p.add;
    case QuantKind::clamp_mul: return round_half_even(std::min(std::max(x, p.lo), p.hi) * p.m / p.d) + p.add;
    case QuantKind::sign: return x < 0.0f ? -1.0f : 1.0f;
  }
  return 0.0f;
}

bool quantize_ref(const float* x, int16_t* code, float* value, int64_t n, const QuantizeParams& p) {
  bool inside = true;
  for (int64_t i = 0; i < n; ++i) {
    const int16_t c = static_cast<int16_t>(quant_code(x[i], p));
    code[i] = c;
    value[i] = p.scale * (static_cast<float>(c) - p.zero_point);
    if (p.window != WindowKind::none) inside &= in_window(x[i], p.wlo, p.whi, p.window == WindowKind::open);
  }
  return inside;
}

}  // namespace

extern const FvecKernels kFvecRef;
const FvecKernels kFvecRef = {bn_shifted_sums_ref, bn_affine_ref, bn_grad_sums_ref, bn_grad_apply_ref, add_ref,
                              relu_ref, clamp_ref, relu_grad_ref, window_grad_ref, quantize_ref};

}  // namespace lowbit::kernels
