// The deployable op list of a trained model: what `lowbit export` writes into an .lbm (through the runtime's
// writer) and what the reference interpreter (quant/export/reference_run.h) runs to check the folding against
// the training graph. Built by lower_model (quant/export/lower.h).
//
// Values are per-sample tensors (the batch axis is implicit), NCHW order, of two kinds:
//   f32    float values;
//   codes  integer codes of a quantized activation (quant/codes.h): binary ±1 (1 bit) or unsigned k-bit codes
//          with one scale and an integer zero point, real = scale·(code − zero_point).
// Weights are stored as integer values v with one real scale per output channel, real_w = wscale[m]·v:
//   binary ±1 → v = ±1; ternary → v ∈ {−1, 0, 1}; signed k-bit → v = c; unsigned k-bit with zero point z
//   (DoReFa's (2^k − 1)/2) → v = 2·(c − z), an odd integer when z is a half-integer, and wscale = scale/2.
// The layer's exact accumulator is then, over its K inputs (zero padding contributes nothing):
//   acc[m] = Σ_k v[m][k]·(x_k − zx)  ∈ ℤ,     Σ_k real_w·real_x = wscale[m]·sx·acc[m].
// Weight layers read either codes (integer route) or f32 (a layer whose activations stay fp32: it convolves
// the dequantized weights in fp32) and end in one epilogue (quant/export/fold_bn.h derives them):
//   f32        y = float(double(wscale[m])·double(sx)·acc) + bias[m]           (integer route)
//              y = Σ real_w·x + bias[m]                                         (f32 route)
//              then, when bn: z = y·bn_a[m] + bn_b[m] (the BatchNorm in eval, exactly as the engine computes it:
//              a = γ·(1/√(σ² + ε)), b = β − μ·a, two float roundings); then + residual (a value of the same
//              shape) when given; then the activation (none, ReLU, clamp[lo, hi]).
//              folded_scale/folded_bias hold the one-step form y = acc·S + T of the same affine (S = wscale·sx·a,
//              T = bias·a + b) for a runtime whose epilogue is a single scale and bias.
//   threshold  codes for the next layer straight from acc (BatchNorm, activation, any max pool and the next
//              layer's quantizer folded in): level(acc) = #{j : acc ≥ T[m][j]} when dir[m] = +1, or
//              #{j : acc ≤ T[m][j]} when dir[m] = −1 (a negative γ), j = 1..L with L = levels − 1; the code is
//              the level itself for unsigned codes, 2·level − 1 for binary codes (level 0 = −1, level 1 = +1).
// Other ops: quantize (f32 → codes by the next layer's quantizer, the kernels' fvec formula), max pool (on f32
// or on codes: the quantizers are monotone non-decreasing, so pooling codes equals quantizing pooled values),
// global average pool, option-A shortcut, add (f32), flatten (a no-op on NCHW).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/fvec/fvec.h"
#include "quant/codes.h"
#include "quant/precision.h"

namespace lowbit::quant::deploy {

enum class ValueKind : uint8_t { f32, codes };

struct Value {
  std::string name;            // the module that produced it ("input", "layer1.0.conv1", ...)
  ValueKind kind = ValueKind::f32;
  std::vector<int64_t> shape;  // per sample: {C, H, W} or {F}
  // codes only
  CodeFormat format = CodeFormat::uint;  // binary or uint
  int bits = 0;
  float scale = 1.0f;
  int32_t zero_point = 0;
  int64_t numel() const;
  int32_t code_lo() const { return format == CodeFormat::binary ? -1 : 0; }
  int32_t code_hi() const { return format == CodeFormat::binary ? 1 : (1 << bits) - 1; }
};

// A quantizer as the fvec kernel computes it (kernels/fvec/fvec.h): code = R(clamp(...)) + add, or sign.
struct QuantizerRecipe {
  kernels::QuantizeParams params;
  CodeFormat format = CodeFormat::uint;
  int bits = 0;
  std::string describe() const;
};

enum class Act : uint8_t { none, relu, clamp };

enum class OpKind : uint8_t { quantize, conv, linear, maxpool, global_avgpool, shortcut_a, add, flatten };
const char* op_kind_name(OpKind k);

enum class Epilogue : uint8_t { f32, threshold };

struct WeightLayerInfo {
  // Geometry (linear: kernel 1×1, stride 1, pad 0, groups 1, in/out = features).
  int in = 0, out = 0, kernel_h = 1, kernel_w = 1, stride = 1, pad = 0, groups = 1;
  int in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  Precision precision;        // as the layer was trained
  bool int_weights = false;   // v/wscale below; else fp32 weights in wf32
  CodeFormat wformat = CodeFormat::uint;
  int wbits = 32;
  std::vector<int32_t> v;     // [out][in/groups][kh][kw] integer weight values
  std::vector<int32_t> wcodes;  // the same weights as the scheme's codes c, real = wscale_codes[m]·(c − wzero)
  float wzero = 0.0f;           // the codes' zero point (a multiple of 1/2)
  std::vector<float> wscale_codes;  // [out]: the codes' scale (wscale, or 2·wscale when wzero is a half-integer)
  std::vector<float> wscale;  // [out]
  std::vector<float> wf32;    // [out][in/groups][kh][kw] real weights (f32 route: wscale·v, or the fp32 weights)
  std::vector<float> bias;    // [out] (zeros when the layer has none)
  int64_t acc_bound = 0;      // max |acc| over all inputs (integer route)
  int64_t macs() const { return int64_t(out) * out_h * out_w * (int64_t(in) / groups) * kernel_h * kernel_w; }
  int64_t k() const { return (int64_t(in) / groups) * kernel_h * kernel_w; }
};

struct Op {
  OpKind kind = OpKind::flatten;
  std::string name;           // the module name(s) it came from, e.g. "conv1+bn1+act1"
  std::vector<int> inputs;    // value ids (add / residual: [main, other])
  int output = -1;
  // quantize
  QuantizerRecipe quant;
  // conv / linear
  WeightLayerInfo layer;
  Epilogue epilogue = Epilogue::f32;
  bool bn = false;
  std::vector<float> bn_a, bn_b;                 // [out]
  int residual = -1;                             // value id added after the BatchNorm, or −1
  Act act = Act::none;
  float act_lo = 0.0f, act_hi = 0.0f;
  std::vector<float> folded_scale, folded_bias;  // [out]
  std::vector<int8_t> dir;                       // threshold: [out] +1 / −1
  std::vector<int32_t> thresholds;               // threshold: [out][levels − 1]
  // maxpool / shortcut
  int pool_kernel = 0, pool_stride = 0, pool_pad = 0;
  int sc_stride = 1, sc_front = 0;               // shortcut_a: subsample stride, first padded channel count
};

struct DeployGraph {
  std::string model;          // zoo name
  int in_c = 1, in_h = 28, in_w = 28, num_classes = 10;
  std::vector<Value> values;  // values[0] is the input (f32, the normalised image)
  std::vector<Op> ops;        // in execution order
  int output = -1;            // the logits (f32 [num_classes])
  int add_value(Value v) {
    values.push_back(std::move(v));
    return static_cast<int>(values.size()) - 1;
  }
  // Per-op summary lines (lowbit info, tests).
  std::string describe() const;
};

}  // namespace lowbit::quant::deploy
