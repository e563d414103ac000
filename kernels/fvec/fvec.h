// fvec: fp32 vector primitives of the training engine (BatchNorm's plane loops, the activation maps and the
// quantizer element loops), written once with xsimd batches
// (fvec_simd.h) and compiled per ISA (fvec_avx2.cpp, fvec_avx512.cpp, fvec_neon.cpp), beside the scalar
// reference fvec_ref.cpp. Pointers and sizes only; nothing here allocates or knows a Tensor.
//
// Bit-identical across ISAs. Every variant rounds the same operations in the same order:
//   - no FMA contraction (kernels are built with -ffp-contract=off; a·b + c is a multiply then an add);
//   - a sum over n values is kept in 16 float lanes (value i goes to lane i mod 16 of its 16-value block: one
//     AVX-512 register, two AVX2 registers, four NEON registers, sixteen scalars in the reference), the lanes are
//     added in double in lane order 0..15, and the n mod 16 tail values are added after them one by one in double;
//   - selects are selects (never a multiply by a 0/1 mask), so signed zeros, inf and NaN come out as written.
//
// BatchNorm, per plane of n values of one channel (engine/ops/norm.cpp has the derivation):
//   bn_shifted_sums   S1 = Σ (x − k),  S2 = Σ (x − k)²                      (statistics with a shift k)
//   bn_affine         z = x·a + b (+ r),  y = act(z);  the gradient window of act as one byte per value:
//                     none: y = z (no window);  relu: y = z > 0 ? z : 0, w = [z > 0];
//                     clamp: y = min(max(z, lo), hi) as selects (NaN stays NaN), w = [lo ≤ z ≤ hi]
//   bn_grad_sums      g' = w ? g : 0 (w given) or g;  Σ g' and Σ g'·(x − mu); g' stored to gz when gz ≠ null.
//                     With a window the sums restart every 1024 values (kBnGradChunk): each chunk is one sum
//                     as above and the chunk totals are added in double in order.
//   bn_grad_apply     dx = (k1·g' + k2·x) + k3 with g' = w ? g : 0 (w given) or g.
// Window bytes are 0 or 1. Pointers may alias only where stated (none may); r, w, gz may be null where stated.
//
// Elementwise maps over n values (engine/ops/activation.cpp, elementwise.cpp; quant/rules.cpp):
//   add           y = a + b
//   relu          y = x > 0 ? x : 0                      (NaN → 0, −0 → +0)
//   clamp         y = x < lo ? lo : (x > hi ? hi : x)    (NaN stays NaN)
//   relu_grad     dx = y > 0 ? g : 0                     (y the saved ReLU output)
//   window_grad   dx = g where t = x/d lies in the window, else 0: closed lo ≤ t ≤ hi, or open lo < t < hi
//                 (d = 1 divides exactly: t = x)
//   quantize      a quantizer's codes and values (quant/rules.cpp, quant/codes.h): with R(u) = (u + 1.5·2²³) −
//                 1.5·2²³ (round half to even for |u| < 2²²), min/max as std::min/std::max,
//                   mul_clamp   c = R(min(max(x·m, lo), hi)) + add
//                   div_clamp   c = R(min(max(x/m, lo), hi)) + add
//                   clamp_mul   c = R(min(max(x, lo), hi)·m/d) + add       (the product first, then /d)
//                   sign        c = x < 0 ? −1 : 1
//                 code[i] = (int16) c, value[i] = scale·(c − zero_point); returns whether every x lies in the
//                 window [wlo, whi] (closed, open, or no window: true). Codes must fit int16 (the clamps see to it).
#pragma once
#include <cstdint>

#include "kernels/isa.h"

namespace lowbit::kernels {

enum class BnAct : uint8_t { none = 0, relu = 1, clamp = 2 };

// Values per chunk of the windowed bn_grad_sums (see above).
inline constexpr int64_t kBnGradChunk = 1024;

enum class QuantKind : uint8_t { mul_clamp = 0, div_clamp = 1, clamp_mul = 2, sign = 3 };
enum class WindowKind : uint8_t { none = 0, closed = 1, open = 2 };

struct QuantizeParams {
  QuantKind kind = QuantKind::mul_clamp;
  float m = 1.0f, d = 1.0f, lo = 0.0f, hi = 0.0f, add = 0.0f;  // the code (above)
  float scale = 1.0f, zero_point = 0.0f;                       // the value
  WindowKind window = WindowKind::none;
  float wlo = 0.0f, whi = 0.0f;
};

struct FvecKernels {
  void (*bn_shifted_sums)(const float* x, int64_t n, float k, double* s1, double* s2);
  // r may be null (no residual); w is written when act ≠ none (and may be null when act = none).
  void (*bn_affine)(const float* x, const float* r, float* y, uint8_t* w, int64_t n, float a, float b, BnAct act,
                    float lo, float hi);
  // w null: g' = g. gz null: g' is not stored.
  void (*bn_grad_sums)(const float* g, const uint8_t* w, const float* x, float* gz, int64_t n, float mu, double* sg,
                       double* sgx);
  // w null: g' = g.
  void (*bn_grad_apply)(const float* g, const uint8_t* w, const float* x, float* dx, int64_t n, float k1, float k2,
                        float k3);
  void (*add)(const float* a, const float* b, float* y, int64_t n);
  void (*relu)(const float* x, float* y, int64_t n);
  void (*clamp)(const float* x, float* y, int64_t n, float lo, float hi);
  void (*relu_grad)(const float* g, const float* y, float* dx, int64_t n);
  void (*window_grad)(const float* g, const float* x, float* dx, int64_t n, float d, float lo, float hi, bool open);
  bool (*quantize)(const float* x, int16_t* code, float* value, int64_t n, const QuantizeParams& p);
};

const FvecKernels& fvec_kernels();
const FvecKernels* fvec_kernels_for(Isa isa);

}  // namespace lowbit::kernels
