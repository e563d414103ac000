// The scheme registry: one row per quantization scheme, in the spirit of ggml's type-traits table. Everything
// that differs between schemes is a field of its row, and every place that used to switch on the scheme looks
// the row up instead: validation and default bits (quant/precision.cpp), the first/last "8" policy, the
// suggested hidden activation (quant/factory.cpp), the weight and activation rules, learned parameters,
// after-step hook and penalty of a quantized layer (quant/layers/quantized_layer.*) and the deployed weight
// scales (quant/report.cpp).
//
// Adding a quantizer: write its rules as autograd ops (a rules file, see quant/rules.h for the form: the
// dequantized Var with its surrogate gradient plus the integer codes), add its name to enum Scheme
// (quant/precision.h), and add one row to the table in quant/schemes.cpp. tests/quant/test_schemes.cpp walks
// the table, so the new row is tested (defaults valid, validation exact, layers build and train) without a new
// test. quant/README.md has the details.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/var.h"
#include "nn/layers/activation.h"
#include "quant/precision.h"
#include "quant/rules.h"

namespace lowbit::quant {

// A quantized layer's learned quantizer state, handed to the rules; a member is undefined when the scheme does
// not learn it.
struct QuantState {
  Var w_step, a_step;  // LSQ steps (weights, activations)
  Var alpha;           // PACT's clip level
  Tensor lsq_ready;    // [2]: weight / activation step initialised from data (kept in checkpoints)
};

// Learned parameters a scheme creates (bit set): LSQ's "w_step" / "a_step" (with the buffer "lsq_ready"),
// PACT's "alpha".
enum LearnedParam : unsigned { kLearnsNothing = 0, kLearnsWeightStep = 1, kLearnsActStep = 2, kLearnsAlpha = 4 };

// The bit widths a scheme accepts for weights or activations: lo..hi, and 32 (= not quantized) when allow_32.
struct BitsRule {
  int lo, hi;
  bool allow_32;
  const char* text;  // for error messages: "1..8 or 32"
  bool valid(int bits) const { return (bits >= lo && bits <= hi) || (allow_32 && bits == 32); }
  // The one width the rule allows, or 0 when it allows several (fp32 32, BNN 1, TWN weights 2).
  int only() const;
};

using WeightRule = Quantized (*)(const Var& w, int bits, QuantState& state);
using ActivationRule = Quantized (*)(const Var& x, int bits, QuantState& state);
using AfterStep = void (*)(Var& shadow_weight);
using Penalty = Var (*)(const QuantState& state, const QuantOptions& options);

struct SchemeTraits {
  Scheme scheme;
  const char* name;
  Precision defaults;        // default wbits / abits
  BitsRule wbits, abits;     // valid widths
  WeightRule weight;         // null: the weights stay fp32 (fp32 only)
  ActivationRule activation; // null: the activations stay fp32 (fp32 only)
  unsigned learns;           // LearnedParam bits
  AfterStep after_step;      // null: nothing after the optimizer step (BNN clamps its shadow weights)
  Penalty penalty;           // null: no loss term (PACT's α decay)
  nn::Activation hidden_activation;  // suggested between layers when the activations are quantized
  Scheme eight_bit;          // the scheme of the first/last layers under policy "8"
  bool sign_activations;     // activations are the sign bits of the input (BNN, XNOR)
  bool per_channel_weight_scale;  // one weight scale per output channel (XNOR's α_o), else one per tensor
};

// The row of a scheme (every Scheme has one).
const SchemeTraits& scheme_traits(Scheme s);
// The whole table, in enum order.
const SchemeTraits* scheme_table_begin();
const SchemeTraits* scheme_table_end();

}  // namespace lowbit::quant
