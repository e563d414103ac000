// Every quantizer as an autograd op: the forward is the quantization formula, the backward the documented
// surrogate gradient. Formulas and surrogates are written above each definition in quant/rules.cpp; the
// sources are the team's formula sheet (research/methods.md §1 of the shared design notes, which says what
// was read in a reference implementation and what is a standard definition).
//
// Each rule returns the dequantized Var (what an fp32 layer would consume; carries the surrogate gradient)
// and, where the values are integers times a scale, the integer codes (quant/codes.h) so a layer can feed the
// low-bit kernels. Rounding: half to even everywhere (quant/codes.h).
//
// Edge conventions (all tested): sign(0) = +1. At a clip bound hit exactly: DoReFa's clip(x, 0, 1) and BNN's
// hardtanh pass the gradient (inclusive, like the engine's clip/hardtanh and tf/torch clamp); LSQ and PACT
// do not (strict inside, as their formulas state; the bound's gradient goes to the step / α instead).
#pragma once
#include <cstddef>  // before engine/rng.h, which uses size_t
#include <cstdint>

#include "engine/rng.h"
#include "engine/var.h"
#include "quant/codes.h"

namespace lowbit::quant {

struct Quantized {
  Var value;     // dequantized values, same shape as the input; differentiable (surrogate gradient)
  QCodes codes;  // integer codes + scale; value == codes.dequantize() exactly
};

// ---- DoReFa-Net ----
// k-bit weights (2 ≤ bits ≤ 8): 2·q_k(tanh(w)/(2·max|tanh(w)|) + 1/2) − 1; bits == 1: sign(w)·E|w|.
Quantized dorefa_weight(const Var& w, int bits);
// k-bit activations (1 ≤ bits ≤ 8): q_k(clip(x, 0, 1)).
Quantized dorefa_activation(const Var& x, int bits);
// Identity forward; the backward quantizes the incoming gradient to `bits` bits with DoReFa's uniform noise,
// per sample (axis 0). The noise stream is forked from `rng` now, so the result is reproducible by seed.
Var dorefa_quantize_grad(const Var& x, int bits, Rng& rng);

// ---- BNN (Hubara / Courbariaux) ----
// sign(x) ∈ {−1, +1} with the hardtanh straight-through gradient g·1[|x| ≤ 1]. Weights and activations.
Quantized bnn_sign(const Var& x);
// The BNN weight rule after each optimizer step: w ← clamp(w, −1, 1), in place, no graph.
void bnn_clamp_weights(Var& w);

// ---- XNOR-Net / BWN ----
// Weights: per output filter o (axis 0), α_o = mean|W_o|, W̃ = α_o·sign(W).
Quantized xnor_weight(const Var& w);
// Activations: sign with the STE g·1[|x| ≤ 1] (identical to bnn_sign; named for the layer code).
Quantized xnor_activation(const Var& x);
// Optional input scaling K (multiplies the layer output): conv input [N, C, H, W] -> [N, 1, OH, OW],
// K = box_{kh×kw}(mean_c |x|) with the layer's stride and zero padding; linear input [N, F] -> [N, 1], mean_f |x|.
Var xnor_input_scale_conv(const Var& x, int kh, int kw, int stride_h, int stride_w, int pad_h, int pad_w);
Var xnor_input_scale_linear(const Var& x);

// ---- TWN ----
// Δ = 0.7·mean|W|, α = mean{|W_i| : |W_i| > Δ}, W_t = α·sign(W)·1[|W| > Δ]; STE.
Quantized twn_weight(const Var& w);

// ---- LSQ ----
// Range of the codes: signed (weights) Q_N = 2^(b−1), Q_P = 2^(b−1) − 1; unsigned (activations) Q_N = 0,
// Q_P = 2^b − 1.
struct LsqRange {
  int32_t qn, qp;
};
LsqRange lsq_range(int bits, bool is_signed);
// Gradient scale g = 1/sqrt(N·Q_P).
float lsq_grad_scale(int64_t n, int bits, bool is_signed);
// s₀ = 2·mean|v|/sqrt(Q_P) (guarded to a tiny positive value when v is all zero).
float lsq_init_step(const Tensor& v, int bits, bool is_signed);
// v̂ = s·round(clip(v/s, −Q_N, Q_P)); s is a 1-element Var (learned), grad_scale from lsq_grad_scale.
Quantized lsq_quantize(const Var& v, const Var& s, int bits, bool is_signed, float grad_scale);

// ---- PACT ----
// y = clip(x, 0, α); y_q = round(y·n/α)·α/n with n = 2^bits − 1. α is a 1-element Var (learned).
Quantized pact_activation(const Var& x, const Var& alpha, int bits);
// The L2 decay on α as a loss term: 0.5·λ·α² (add it to the loss; its gradient is λ·α).
Var pact_alpha_penalty(const Var& alpha, float lambda);

// ---- 8-bit image input (first layer under policy "q", quant/precision.h) ----
// The range the codes cover, from a batch of network inputs: [min(x, 0), max(x, 0)] (zero must be exactly
// representable, it is the conv's padding value); a constant input gets a unit-wide range.
struct InputRange {
  float lo, hi;
};
InputRange image_input_range(const Tensor& x);
// Affine uint8 codes over [lo, hi]: s = (hi − lo)/255, z = clamp(round(−lo/s), 0, 255) (an integer, so the
// value 0 is the code z exactly), c = clamp(round(x/s) + z, 0, 255), x̂ = s·(c − z). For an image normalised
// as (p/255 − μ)/σ with range [−μ/σ, (1 − μ)/σ], s = 1/(255σ) and c is the pixel byte p itself.
// Backward: STE inside the range, g_x = g·1[0 ≤ x/s + z ≤ 255].       codes: uint 8-bit, scale s, zero point z.
Quantized image_input_u8(const Var& x, InputRange r);

}  // namespace lowbit::quant
