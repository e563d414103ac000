// The scheme table (quant/schemes.h): one row per scheme, and the small adapters that give every rule of
// quant/rules.h the registry's (value, bits, state) form.
#include "quant/schemes.h"

#include <algorithm>
#include <iterator>

#include "engine/error.h"

namespace lowbit::quant {

namespace {

// ---- weight rules ----
Quantized dorefa_w(const Var& w, int bits, QuantState&) { return dorefa_weight(w, bits); }
Quantized sign_w(const Var& w, int, QuantState&) { return bnn_sign(w); }
Quantized xnor_w(const Var& w, int, QuantState&) { return xnor_weight(w); }
Quantized twn_w(const Var& w, int, QuantState&) { return twn_weight(w); }
// LSQ: the step starts at 2·mean|w|/sqrt(Q_P), from the first weights seen (lsq_ready[0] records it).
Quantized lsq_w(const Var& w, int bits, QuantState& s) {
  if (s.lsq_ready[0] == 0.0f) {
    s.w_step.value()[0] = lsq_init_step(w.value(), bits, true);
    s.lsq_ready[0] = 1.0f;
  }
  return lsq_quantize(w, s.w_step, bits, true, lsq_grad_scale(w.value().numel(), bits, true));
}

// ---- activation rules ----
Quantized dorefa_a(const Var& x, int bits, QuantState&) { return dorefa_activation(x, bits); }
Quantized sign_a(const Var& x, int, QuantState&) { return bnn_sign(x); }
Quantized xnor_a(const Var& x, int, QuantState&) { return xnor_activation(x); }
// LSQ: the step from the first batch; N = features per sample (the LSQ paper's definition for activations).
Quantized lsq_a(const Var& x, int bits, QuantState& s) {
  if (s.lsq_ready[1] == 0.0f) {
    s.a_step.value()[0] = lsq_init_step(x.value(), bits, false);
    s.lsq_ready[1] = 1.0f;
  }
  const int64_t batch = x.shape().rank() > 0 ? x.shape()[0] : 1;
  return lsq_quantize(x, s.a_step, bits, false, lsq_grad_scale(x.value().numel() / std::max<int64_t>(batch, 1), bits, false));
}
Quantized pact_a(const Var& x, int bits, QuantState& s) { return pact_activation(x, s.alpha, bits); }

// ---- hooks ----
Var pact_penalty(const QuantState& s, const QuantOptions& o) {
  return s.alpha.defined() && o.pact_alpha_decay > 0.0f ? pact_alpha_penalty(s.alpha, o.pact_alpha_decay) : Var();
}

constexpr BitsRule kOnly32{32, 32, true, "32"};
constexpr BitsRule kOne{1, 1, false, "1"};
constexpr BitsRule kUpTo8{1, 8, true, "1..8 or 32"};
using nn::Activation;

// name, defaults, wbits, abits, weight rule, activation rule, learns, after step, penalty, hidden activation,
// 8-bit edge scheme, sign activations, per-channel weight scale
const SchemeTraits kTable[] = {
    {Scheme::fp32, "fp32", {32, 32, Scheme::fp32}, kOnly32, kOnly32, nullptr, nullptr, kLearnsNothing, nullptr, nullptr,
     Activation::relu, Scheme::dorefa, false, false},
    {Scheme::dorefa, "dorefa", {1, 2, Scheme::dorefa}, kUpTo8, kUpTo8, dorefa_w, dorefa_a, kLearnsNothing, nullptr,
     nullptr, Activation::clip01, Scheme::dorefa, false, false},
    {Scheme::bnn, "bnn", {1, 1, Scheme::bnn}, kOne, kOne, sign_w, sign_a, kLearnsNothing, bnn_clamp_weights, nullptr,
     Activation::hardtanh, Scheme::dorefa, true, false},
    {Scheme::xnor, "xnor", {1, 1, Scheme::xnor}, kOne, {1, 1, true, "1, or 32 for BWN"}, xnor_w, xnor_a,
     kLearnsNothing, nullptr, nullptr, Activation::hardtanh, Scheme::dorefa, true, true},
    {Scheme::twn, "twn", {2, 32, Scheme::twn}, {2, 2, false, "2 (ternary)"}, kUpTo8, twn_w, dorefa_a, kLearnsNothing,
     nullptr, nullptr, Activation::clip01, Scheme::dorefa, false, false},
    {Scheme::lsq, "lsq", {4, 4, Scheme::lsq}, {2, 8, true, "2..8 or 32 (signed codes need 2 bits)"}, kUpTo8, lsq_w,
     lsq_a, kLearnsWeightStep | kLearnsActStep, nullptr, nullptr, Activation::relu, Scheme::lsq, false, false},
    // PACT pairs DoReFa weights (Distiller's choice) with its learned activation clip.
    {Scheme::pact, "pact", {4, 4, Scheme::pact}, kUpTo8, {1, 8, false, "1..8 (PACT quantizes activations)"},
     dorefa_w, pact_a, kLearnsAlpha, nullptr, pact_penalty, Activation::relu, Scheme::pact, false, false},
};

}  // namespace

int BitsRule::only() const {
  if (lo == hi && !allow_32) return lo;
  if (lo == 32 && hi == 32) return 32;
  return 0;
}

const SchemeTraits& scheme_traits(Scheme s) {
  for (const SchemeTraits& t : kTable)
    if (t.scheme == s) return t;
  LOWBIT_ASSERT(false, "scheme {} has no registry row", static_cast<int>(s));
  return kTable[0];
}

const SchemeTraits* scheme_table_begin() { return std::begin(kTable); }
const SchemeTraits* scheme_table_end() { return std::end(kTable); }

}  // namespace lowbit::quant
