// The quantization rules. Each op computes its integer codes first and its dequantized value from them
// (value = scale·(code − zero_point), quant/codes.h), so the fake-quant and kernel paths share every number.
// Notation: g = gradient arriving at the op's output, n = 2^k − 1, q_k(u) = round(n·u)/n (round half to even).
#include "quant/rules.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"
#include "kernels/fvec/fvec.h"

namespace lowbit::quant {
namespace {

// Element loops below this many values run on the calling thread.
constexpr int64_t kParallelGrain = 1 << 16;

// The element loops of the activation rules are fvec kernels (kernels/fvec/fvec.h: xsimd per ISA, bit-identical
// to their scalar reference), split into one contiguous range per thread:
// codes[i] = code(x[i]), value[i] = scale·(codes[i] − zero_point) (quant/codes.h), and whether every input lies
// inside the STE window. When all do the backward is the identity and passes g on without a masking pass (the
// common case behind a clamp activation, whose outputs all lie inside the next quantizer's window).
bool quantize_elements(const Tensor& x, QCodes& codes, Tensor& value, kernels::QuantizeParams p) {
  const float* xd = x.data();
  int16_t* c = codes.code.data();
  float* v = value.data();
  p.scale = codes.scale[0];
  p.zero_point = codes.zero_point;
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  std::atomic<bool> all_inside{true};
  for_each_thread_range(x.numel(), kParallelGrain, [&](int64_t lo, int64_t hi) {
    if (!fv.quantize(xd + lo, c + lo, v + lo, hi - lo, p)) all_inside = false;
  });
  return all_inside.load();
}

kernels::QuantizeParams clamped_code(kernels::QuantKind kind, float m, float lo, float hi) {
  kernels::QuantizeParams p;
  p.kind = kind;
  p.m = m;
  p.lo = lo;
  p.hi = hi;
  return p;
}

kernels::QuantizeParams with_window(kernels::QuantizeParams p, kernels::WindowKind w, float lo, float hi) {
  p.window = w;
  p.wlo = lo;
  p.whi = hi;
  return p;
}

// g where x/d lies in the window (lo, hi) (open) or [lo, hi] (closed), 0 elsewhere: x is the op's saved input.
Tensor window_grad(const Tensor& g, const Tensor& x, float d, float lo, float hi, bool open) {
  Tensor out = Tensor::empty(g.shape());
  const float* gd = g.data();
  const float* xd = x.data();
  float* o = out.data();
  const kernels::FvecKernels& fv = kernels::fvec_kernels();
  for_each_thread_range(g.numel(), kParallelGrain, [&](int64_t i0, int64_t i1) {
    fv.window_grad(gd + i0, xd + i0, o + i0, i1 - i0, d, lo, hi, open);
  });
  return out;
}

template <class Pass>
void mask_range(int64_t lo, int64_t hi, const float* __restrict g, const float* __restrict x, float* __restrict out,
                Pass pass) {
  for (int64_t i = lo; i < hi; ++i) {
    const float gv = g[i];  // loaded unconditionally, so the select needs no branch
    out[i] = pass(x[i]) ? gv : 0.0f;
  }
}

void check_bits(int bits, int lo, int hi, const char* rule) {
  LOWBIT_CHECK(bits >= lo && bits <= hi, "{}: bits must be in [{}, {}], got {}", rule, lo, hi, bits);
}

void check_input(const Var& v, const char* rule, const char* what) {
  LOWBIT_CHECK(v.defined(), "{}: {} is an undefined Var", rule, what);
  LOWBIT_CHECK(v.value().numel() > 0, "{}: {} is empty (shape {})", rule, what, v.shape().str());
}

float scalar_param(const Var& p, const char* rule, const char* what) {
  LOWBIT_CHECK(p.defined() && p.value().numel() == 1, "{}: {} must be a 1-element Var", rule, what);
  return p.value()[0];
}

QCodes make_codes(CodeFormat f, int bits, const Shape& shape, std::vector<float> scale, float zero_point) {
  QCodes c;
  c.format = f;
  c.bits = bits;
  c.shape = shape;
  c.code.resize(static_cast<size_t>(shape.numel()));
  c.scale = std::move(scale);
  c.zero_point = zero_point;
  return c;
}

// Gradient g where pass(x[i]) holds, 0 elsewhere: x is the op's saved input (same shape as g). For windows
// that are not an interval of x/d (the image input's x/s + z).
template <class Pass>
Tensor masked_grad(const Tensor& g, const Tensor& x, Pass pass) {
  Tensor out = Tensor::empty(g.shape());
  const float* gd = g.data();
  const float* xd = x.data();
  float* o = out.data();
  for_each_thread_range(g.numel(), kParallelGrain,
                        [&](int64_t lo, int64_t hi) { mask_range(lo, hi, gd, xd, o, pass); });
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// DoReFa k-bit weights, 2 ≤ k ≤ 8 (tensorpack dorefa.py):
//   t = tanh(w),  M = max_i |t_i| (whole tensor),  u = t/(2M) + 1/2 ∈ [0, 1],
//   c = round(n·u) ∈ {0..n},  w_q = 2·c/n − 1 = (2/n)·(c − n/2)        codes: uint k-bit, scale 2/n, zp n/2.
// Backward: STE on the round only (∂w_q/∂u := 2); the gradient flows exactly through u = t/(2M) + 1/2,
// including the max (to its first argmax j*), and through tanh:
//   g_u = 2g,   g_t_i = g_u_i/(2M) − [i = j*]·sign(t_j*)·Σ_k g_u_k·t_k/(2M²),   g_w = g_t·(1 − t²).
// M = 0 (all-zero weights): u := 1/2 everywhere and the gradient is 0 (the formula is 0/0 there).
//
// DoReFa 1-bit weights (BWN style): E = mean|w| (stop-gradient), w_q = sign(w)·E with sign(0) = +1;
// backward identity g_w = g.                                                codes: binary, scale E.
// ---------------------------------------------------------------------------------------------------------
Quantized dorefa_weight(const Var& w, int bits) {
  check_input(w, "dorefa_weight", "w");
  check_bits(bits, 1, 8, "dorefa_weight");
  const Tensor& wv = w.value();
  const int64_t N = wv.numel();
  const float* wd = wv.data();
  Quantized out;
  if (bits == 1) {
    double s = 0.0;
    for (int64_t i = 0; i < N; ++i) s += std::fabs(wd[i]);
    const float E = static_cast<float>(s / static_cast<double>(N));
    out.codes = make_codes(CodeFormat::binary, 1, wv.shape(), {E}, 0.0f);
    Tensor val = Tensor::empty(wv.shape());
    for (int64_t i = 0; i < N; ++i) {
      out.codes.code[i] = wd[i] < 0.0f ? -1 : 1;
      val[i] = out.codes.real(i);
    }
    out.value = Var::make(val, {w}, [](const Tensor& g, std::vector<Var>& in) { in[0].add_grad(g); });
    return out;
  }
  const float n = static_cast<float>((1 << bits) - 1);
  Tensor t = Tensor::empty(wv.shape());
  float M = 0.0f;
  int64_t jstar = 0;
  for (int64_t i = 0; i < N; ++i) {
    t[i] = std::tanh(wd[i]);
    if (std::fabs(t[i]) > M) M = std::fabs(t[i]), jstar = i;
  }
  out.codes = make_codes(CodeFormat::uint, bits, wv.shape(), {2.0f / n}, n / 2.0f);
  Tensor val = Tensor::empty(wv.shape());
  for (int64_t i = 0; i < N; ++i) {
    const float u = M > 0.0f ? t[i] / (2.0f * M) + 0.5f : 0.5f;
    out.codes.code[i] = static_cast<int16_t>(round_code(n * u));
    val[i] = out.codes.real(i);
  }
  out.value = Var::make(val, {w}, [t, M, jstar](const Tensor& g, std::vector<Var>& in) {
    const int64_t N = g.numel();
    Tensor gw = Tensor::zeros(g.shape());
    if (M > 0.0f) {
      const double inv2m = 1.0 / (2.0 * M);
      double dot = 0.0;  // Σ g_u·t
      for (int64_t i = 0; i < N; ++i) dot += 2.0 * g[i] * t[i];
      for (int64_t i = 0; i < N; ++i) {
        double gt = 2.0 * g[i] * inv2m;
        if (i == jstar) gt -= (t[i] < 0.0f ? -1.0 : 1.0) * dot * inv2m / M;
        gw[i] = static_cast<float>(gt * (1.0 - static_cast<double>(t[i]) * t[i]));
      }
    }
    in[0].add_grad(gw);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// DoReFa k-bit activations, 1 ≤ k ≤ 8:  a_q = q_k(clip(x, 0, 1)) = c/n with c = round(n·clip(x, 0, 1)).
// Backward: STE on the round, autograd of the clip: g_x = g·1[0 ≤ x ≤ 1] (bounds inclusive, as tf/torch clamp
// and the engine's clip).                                                   codes: uint k-bit, scale 1/n.
// ---------------------------------------------------------------------------------------------------------
Quantized dorefa_activation(const Var& x, int bits) {
  check_input(x, "dorefa_activation", "x");
  check_bits(bits, 1, 8, "dorefa_activation");
  const Tensor& xv = x.value();
  const float n = static_cast<float>((1 << bits) - 1);
  Quantized out;
  out.codes = make_codes(CodeFormat::uint, bits, xv.shape(), {1.0f / n}, 0.0f);
  Tensor val = Tensor::empty(xv.shape());
  // c = round(n·clip(x, 0, 1)) = round(min(max(n·x, 0), n)) exactly (n·x is monotonic in x); window [0, 1].
  const bool all_pass = quantize_elements(
      xv, out.codes, val,
      with_window(clamped_code(kernels::QuantKind::mul_clamp, n, 0.0f, n), kernels::WindowKind::closed, 0.0f, 1.0f));
  const Tensor saved = all_pass ? Tensor() : xv;  // the window is needed only when some input lies outside
  out.value = Var::make(val, {x}, [saved, all_pass](const Tensor& g, std::vector<Var>& in) {
    in[0].add_grad(all_pass ? g : window_grad(g, saved, 1.0f, 0.0f, 1.0f, /*open=*/false));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// DoReFa gradient quantization (k_G bits), applied to a layer output r: forward identity; backward, per sample
// b (axis 0), with m = max|dr| over the sample and n = 2^k_G − 1:
//   dr_q = 2m·[ q_kG( clip( dr/(2m) + 1/2 + U(−0.5/n, 0.5/n), 0, 1) ) − 1/2 ].
// A sample whose gradient is all zero stays zero. The noise comes from a stream forked from `rng` at forward
// time (its id drawn from rng), drawn in element order, so a seed fixes the run.
// ---------------------------------------------------------------------------------------------------------
Var dorefa_quantize_grad(const Var& x, int bits, Rng& rng) {
  check_input(x, "dorefa_quantize_grad", "x");
  check_bits(bits, 1, 16, "dorefa_quantize_grad");
  Rng noise = rng.fork(rng.next_u64());
  return Var::make(x.value(), {x}, [bits, noise](const Tensor& g, std::vector<Var>& in) mutable {
    const float n = static_cast<float>((int64_t{1} << bits) - 1);
    const int64_t B = g.rank() > 0 ? g.dim(0) : 1;
    const int64_t per = B > 0 ? g.numel() / B : 0;
    Tensor gq = Tensor::empty(g.shape());
    for (int64_t b = 0; b < B; ++b) {
      const float* gi = g.data() + b * per;
      float* o = gq.data() + b * per;
      float m = 0.0f;
      for (int64_t i = 0; i < per; ++i) m = std::max(m, std::fabs(gi[i]));
      for (int64_t i = 0; i < per; ++i) {
        const float r = noise.uniform(-0.5f / n, 0.5f / n);
        if (m == 0.0f) {
          o[i] = 0.0f;
          continue;
        }
        const float u = std::min(std::max(gi[i] / (2.0f * m) + 0.5f + r, 0.0f), 1.0f);
        o[i] = 2.0f * m * (round_code(n * u) / n - 0.5f);
      }
    }
    in[0].add_grad(gq);
  });
}

// ---------------------------------------------------------------------------------------------------------
// BNN sign: x_b = sign(x) ∈ {−1, +1}, sign(0) = +1. Backward (hardtanh STE): g_x = g·1[|x| ≤ 1].
//                                                                           codes: binary, scale 1.
// BNN weight clamp (after every optimizer step): W ← clamp(W, −1, 1) on the fp32 shadow weights.
// ---------------------------------------------------------------------------------------------------------
Quantized bnn_sign(const Var& x) {
  check_input(x, "bnn_sign", "x");
  const Tensor& xv = x.value();
  Quantized out;
  out.codes = make_codes(CodeFormat::binary, 1, xv.shape(), {1.0f}, 0.0f);
  Tensor val = Tensor::empty(xv.shape());
  // c = sign(x) (sign(0) = +1); window |x| ≤ 1.
  kernels::QuantizeParams p;
  p.kind = kernels::QuantKind::sign;
  const bool all_pass = quantize_elements(xv, out.codes, val, with_window(p, kernels::WindowKind::closed, -1.0f, 1.0f));
  const Tensor saved = all_pass ? Tensor() : xv;  // the window is needed only when some input lies outside
  out.value = Var::make(val, {x}, [saved, all_pass](const Tensor& g, std::vector<Var>& in) {
    in[0].add_grad(all_pass ? g : window_grad(g, saved, 1.0f, -1.0f, 1.0f, /*open=*/false));
  });
  return out;
}

void bnn_clamp_weights(Var& w) {
  LOWBIT_CHECK(w.defined(), "bnn_clamp_weights: undefined Var");
  Tensor& t = w.value();
  float* d = t.data();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) d[i] = std::min(std::max(d[i], -1.0f), 1.0f);
}

// ---------------------------------------------------------------------------------------------------------
// XNOR-Net weights, per output filter o (axis 0) with n elements: α_o = ‖W_o‖₁/n, W̃ = α_o·sign(W).
// Backward (the XNOR-Net paper's estimate, formula sheet §1.3): g_W = g·(1/n + α_o·1[|W| ≤ 1]).
//                                                       codes: binary, per-channel scale α_o.
// Activations: sign with STE 1[|x| ≤ 1] (bnn_sign). Input scaling K: a box filter over mean_c|x|.
// ---------------------------------------------------------------------------------------------------------
Quantized xnor_weight(const Var& w) {
  check_input(w, "xnor_weight", "w");
  const Tensor& wv = w.value();
  LOWBIT_CHECK(wv.rank() >= 2, "xnor_weight: weight must have rank ≥ 2 (axis 0 = output), got {}",
               wv.shape().str());
  const int64_t O = wv.dim(0), n = wv.numel() / O;
  const float* wd = wv.data();
  std::vector<float> alpha(static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += std::fabs(wd[o * n + i]);
    alpha[o] = static_cast<float>(s / static_cast<double>(n));
  }
  Quantized out;
  out.codes = make_codes(CodeFormat::binary, 1, wv.shape(), alpha, 0.0f);
  Tensor val = Tensor::empty(wv.shape());
  for (int64_t i = 0; i < wv.numel(); ++i) {
    out.codes.code[i] = wd[i] < 0.0f ? -1 : 1;
    val[i] = out.codes.real(i);
  }
  out.value = Var::make(val, {w}, [wv, alpha, n](const Tensor& g, std::vector<Var>& in) {
    Tensor gw = Tensor::empty(g.shape());
    const float* wd = wv.data();
    const float inv_n = 1.0f / static_cast<float>(n);
    for (int64_t i = 0; i < g.numel(); ++i) {
      const float a = alpha[static_cast<size_t>(i / n)];
      gw[i] = g[i] * (inv_n + (std::fabs(wd[i]) <= 1.0f ? a : 0.0f));
    }
    in[0].add_grad(gw);
  });
  return out;
}

Quantized xnor_activation(const Var& x) { return bnn_sign(x); }

Var xnor_input_scale_conv(const Var& x, int kh, int kw, int stride_h, int stride_w, int pad_h, int pad_w) {
  LOWBIT_CHECK(x.defined() && x.shape().rank() == 4, "xnor_input_scale_conv: input must be [N, C, H, W], got {}",
               x.defined() ? x.shape().str() : std::string("undefined"));
  LOWBIT_CHECK(kh > 0 && kw > 0, "xnor_input_scale_conv: kernel {}x{} must be positive", kh, kw);
  const Var a = mean_dim(abs(x), 1, /*keepdim=*/true);  // A = mean_c |I|, [N, 1, H, W]
  const Var box(Tensor::full(Shape{1, 1, kh, kw}, 1.0f / static_cast<float>(kh * kw)));
  Conv2dParams p;
  p.stride_h = stride_h;
  p.stride_w = stride_w;
  p.pad_h = pad_h;
  p.pad_w = pad_w;
  return conv2d(a, box, Var(), p);  // K = A * k, zero padding like the layer's
}

Var xnor_input_scale_linear(const Var& x) {
  LOWBIT_CHECK(x.defined() && x.shape().rank() == 2, "xnor_input_scale_linear: input must be [N, F], got {}",
               x.defined() ? x.shape().str() : std::string("undefined"));
  return mean_dim(abs(x), 1, /*keepdim=*/true);
}

// ---------------------------------------------------------------------------------------------------------
// TWN (per layer): Δ = 0.7·mean|W|,  α = mean{|W_i| : |W_i| > Δ},  W_t = α·t with t = sign(W)·1[|W| > Δ].
// Backward: STE, g_W = g. All-zero W gives α = 0 (every t = 0).     codes: ternary, scale α.
// ---------------------------------------------------------------------------------------------------------
Quantized twn_weight(const Var& w) {
  check_input(w, "twn_weight", "w");
  const Tensor& wv = w.value();
  const int64_t N = wv.numel();
  const float* wd = wv.data();
  double s = 0.0;
  for (int64_t i = 0; i < N; ++i) s += std::fabs(wd[i]);
  const float delta = static_cast<float>(0.7 * s / static_cast<double>(N));
  double sa = 0.0;
  int64_t na = 0;
  for (int64_t i = 0; i < N; ++i)
    if (std::fabs(wd[i]) > delta) sa += std::fabs(wd[i]), ++na;
  const float alpha = na > 0 ? static_cast<float>(sa / static_cast<double>(na)) : 0.0f;
  Quantized out;
  out.codes = make_codes(CodeFormat::ternary, 2, wv.shape(), {alpha}, 0.0f);
  Tensor val = Tensor::empty(wv.shape());
  for (int64_t i = 0; i < N; ++i) {
    out.codes.code[i] = std::fabs(wd[i]) > delta ? (wd[i] < 0.0f ? -1 : 1) : 0;
    val[i] = out.codes.real(i);
  }
  out.value = Var::make(val, {w}, [](const Tensor& g, std::vector<Var>& in) { in[0].add_grad(g); });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// LSQ: r = v/s,  c = round(clip(r, −Q_N, Q_P)),  v̂ = s·c.            codes: sint/uint b-bit, scale s.
// Backward (g_s scaled by grad_scale = 1/sqrt(N·Q_P), which equals using s·gs + stopgrad(s − s·gs)):
//   g_v = g·1[−Q_N < r < Q_P]
//   g_s = gs·Σ g·( −r + round(r)  if −Q_N < r < Q_P;   −Q_N  if r ≤ −Q_N;   Q_P  if r ≥ Q_P ).
// ---------------------------------------------------------------------------------------------------------
LsqRange lsq_range(int bits, bool is_signed) {
  if (is_signed) {
    check_bits(bits, 2, 8, "lsq (signed)");
    return {int32_t{1} << (bits - 1), (int32_t{1} << (bits - 1)) - 1};
  }
  check_bits(bits, 1, 8, "lsq (unsigned)");
  return {0, (int32_t{1} << bits) - 1};
}

float lsq_grad_scale(int64_t n, int bits, bool is_signed) {
  LOWBIT_CHECK(n > 0, "lsq_grad_scale: N must be positive, got {}", n);
  const LsqRange r = lsq_range(bits, is_signed);
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(n) * r.qp));
}

float lsq_init_step(const Tensor& v, int bits, bool is_signed) {
  LOWBIT_CHECK(v.defined() && v.numel() > 0, "lsq_init_step: empty tensor");
  const LsqRange r = lsq_range(bits, is_signed);
  double s = 0.0;
  const float* d = v.data();
  for (int64_t i = 0; i < v.numel(); ++i) s += std::fabs(d[i]);
  const double step = 2.0 * (s / static_cast<double>(v.numel())) / std::sqrt(static_cast<double>(r.qp));
  return step > 0.0 ? static_cast<float>(step) : 1e-3f;  // all-zero input: any positive step; it is learned
}

Quantized lsq_quantize(const Var& v, const Var& s, int bits, bool is_signed, float grad_scale) {
  check_input(v, "lsq_quantize", "v");
  const float step = scalar_param(s, "lsq_quantize", "step s");
  LOWBIT_CHECK(step > 0.0f && std::isfinite(step), "lsq_quantize: step size must be positive and finite, got {}",
               step);
  const LsqRange rg = lsq_range(bits, is_signed);
  const float lo = -static_cast<float>(rg.qn), hi = static_cast<float>(rg.qp);
  const Tensor& vv = v.value();
  Quantized out;
  out.codes = make_codes(is_signed ? CodeFormat::sint : CodeFormat::uint, bits, vv.shape(), {step}, 0.0f);
  Tensor val = Tensor::empty(vv.shape());
  quantize_elements(vv, out.codes, val, clamped_code(kernels::QuantKind::div_clamp, step, lo, hi));  // round(clip(v/s))
  out.value = Var::make(val, {v, s}, [vv, step, lo, hi, grad_scale](const Tensor& g, std::vector<Var>& in) {
    const float* vd = vv.data();
    const int64_t N = g.numel();
    if (in[0].requires_grad()) {
      in[0].add_grad(window_grad(g, vv, step, lo, hi, /*open=*/true));  // −Q_N < v/s < Q_P
    }
    if (in[1].requires_grad()) {
      double gs = 0.0;
      for (int64_t i = 0; i < N; ++i) {
        const float r = vd[i] / step;
        const float d = r <= lo ? lo : r >= hi ? hi : round_code(r) - r;
        gs += static_cast<double>(g[i]) * d;
      }
      Tensor t = Tensor::empty(in[1].shape());
      t[0] = static_cast<float>(gs * grad_scale);
      in[1].add_grad(t);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// PACT (k-bit, n = 2^k − 1): y = clip(x, 0, α),  c = round(y·n/α),  y_q = (α/n)·c.   codes: uint k-bit, scale α/n.
// Backward (PACT's STE): g_x = g·1[0 < x < α],   g_α = Σ g·1[x ≥ α].
// L2 decay on α as the loss term 0.5·λ·α².
// ---------------------------------------------------------------------------------------------------------
Quantized pact_activation(const Var& x, const Var& alpha, int bits) {
  check_input(x, "pact_activation", "x");
  check_bits(bits, 1, 8, "pact_activation");
  const float a = scalar_param(alpha, "pact_activation", "alpha");
  LOWBIT_CHECK(a > 0.0f && std::isfinite(a), "pact_activation: alpha must be positive and finite, got {}", a);
  const float n = static_cast<float>((1 << bits) - 1);
  const Tensor& xv = x.value();
  Quantized out;
  out.codes = make_codes(CodeFormat::uint, bits, xv.shape(), {a / n}, 0.0f);
  Tensor val = Tensor::empty(xv.shape());
  kernels::QuantizeParams p = clamped_code(kernels::QuantKind::clamp_mul, n, 0.0f, a);  // round(clip(x, 0, α)·n/α)
  p.d = a;
  quantize_elements(xv, out.codes, val, p);
  out.value = Var::make(val, {x, alpha}, [xv, a](const Tensor& g, std::vector<Var>& in) {
    const float* xd = xv.data();
    if (in[0].requires_grad()) in[0].add_grad(window_grad(g, xv, 1.0f, 0.0f, a, /*open=*/true));  // 0 < x < α
    if (in[1].requires_grad()) {
      double ga = 0.0;
      for (int64_t i = 0; i < g.numel(); ++i)
        if (xd[i] >= a) ga += g[i];
      Tensor t = Tensor::empty(in[1].shape());
      t[0] = static_cast<float>(ga);
      in[1].add_grad(t);
    }
  });
  return out;
}

Var pact_alpha_penalty(const Var& alpha, float lambda) {
  scalar_param(alpha, "pact_alpha_penalty", "alpha");
  return mul(sum(square(alpha)), 0.5f * lambda);
}

// ---------------------------------------------------------------------------------------------------------
// 8-bit image input: affine uint8 codes with an integer zero point (formulas in rules.h). The range is
// calibrated once (the layer keeps it in a buffer), so training, evaluation and the deployed model agree.
// ---------------------------------------------------------------------------------------------------------
InputRange image_input_range(const Tensor& x) {
  LOWBIT_CHECK(x.numel() > 0, "image_input_range: empty input {}", x.shape().str());
  float lo = 0.0f, hi = 0.0f;
  const float* d = x.data();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) lo = std::min(lo, d[i]), hi = std::max(hi, d[i]);
  LOWBIT_CHECK(std::isfinite(lo) && std::isfinite(hi), "image_input_range: the input holds inf or NaN");
  if (hi - lo <= 0.0f) hi = lo + 1.0f;
  return {lo, hi};
}

Quantized image_input_u8(const Var& x, InputRange r) {
  check_input(x, "image_input_u8", "x");
  LOWBIT_CHECK(r.lo <= 0.0f && r.hi >= 0.0f && r.hi > r.lo, "image_input_u8: range [{}, {}] must contain 0",
               r.lo, r.hi);
  const float s = (r.hi - r.lo) / 255.0f;
  const float z = std::min(std::max(round_code(-r.lo / s), 0.0f), 255.0f);
  const Tensor& xv = x.value();
  Quantized out;
  out.codes = make_codes(CodeFormat::uint, 8, xv.shape(), {s}, z);
  Tensor val = Tensor::empty(xv.shape());
  // Clamped before the rounding (the bounds −z and 255 − z are integers, so this equals clamping after it),
  // which keeps the argument of round_code small.
  kernels::QuantizeParams p = clamped_code(kernels::QuantKind::div_clamp, s, -z, 255.0f - z);
  p.add = z;  // c = round(clip(x/s, −z, 255 − z)) + z
  quantize_elements(xv, out.codes, val, p);
  out.value = Var::make(val, {x}, [xv, s, z](const Tensor& g, std::vector<Var>& in) {
    in[0].add_grad(masked_grad(g, xv, [s, z](float x) {
      const float u = x / s + z;
      return (u >= 0.0f) & (u <= 255.0f);
    }));
  });
  return out;
}

}  // namespace lowbit::quant
