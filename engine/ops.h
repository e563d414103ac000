// Differentiable fp32 ops. Each op's forward and its backward lambda sit together in
// engine/ops/<family>.cpp (elementwise, reduce, matmul, conv, pool, norm, activation, loss, shape).
//
// Broadcasting (binary elementwise ops) is deliberately narrow: b has the same shape as a, or b is a scalar
// (1 element), or b is per-channel: shape [C] against a of shape [N, C] or [N, C, H, W] (channel = axis 1).
// The roles may also be swapped (a scalar or per-channel a against a full b, e.g. scale / x); the output has
// the full operand's shape. Anything else throws lowbit::Error naming both shapes.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/rng.h"
#include "engine/var.h"

namespace lowbit {

// ---- elementwise (engine/ops/elementwise.cpp) ----
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add(const Var& a, float s);
Var mul(const Var& a, float s);
Var neg(const Var& a);
Var abs(const Var& a);  // d|x|/dx = sign(x), 0 at 0
Var exp(const Var& a);
Var log(const Var& a);
Var sqrt(const Var& a);
Var square(const Var& a);
inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator*(const Var& a, float s) { return mul(a, s); }
inline Var operator+(const Var& a, float s) { return add(a, s); }
inline Var operator-(const Var& a) { return neg(a); }

// ---- reductions (engine/ops/reduce.cpp) ----
Var sum(const Var& a);      // all elements -> rank 0
Var mean(const Var& a);     // all elements -> rank 0
Var max_all(const Var& a);  // all elements -> rank 0; gradient to the first argmax
Var sum_dim(const Var& a, int dim, bool keepdim = false);
Var mean_dim(const Var& a, int dim, bool keepdim = false);

// ---- activations (engine/ops/activation.cpp) ----
Var relu(const Var& a);
Var hardtanh(const Var& a, float lo = -1.0f, float hi = 1.0f);  // grad 1 on [lo, hi], else 0
Var clip(const Var& a, float lo, float hi);                     // grad 1 on (lo, hi)... same as hardtanh; kept as its own name
Var tanh(const Var& a);
Var sigmoid(const Var& a);
// sign with a straight-through surrogate: forward sign(x) with sign(0) = +1; backward g·1[|x| ≤ clip]
// (clip ≤ 0 means identity: g passes unchanged). The hook quant/ builds its binarizers on.
Var sign_ste(const Var& a, float clip = 1.0f);

// ---- linear algebra (engine/ops/matmul.cpp) ----
Var matmul(const Var& a, const Var& b);  // [M, K] x [K, N] -> [M, N]
// x [N, in], w [out, in], b [out] (undefined Var = no bias) -> [N, out]
Var linear(const Var& x, const Var& w, const Var& b = Var());
// The gradients linear's backward computes for x [N, in], w [out, in] and a bias [out], given dy [N, out]: for
// layers that produce y another way (the quantized layers' integer kernels) but differentiate as this fp32
// linear, with the same numbers (the bias gradient is summed over the batch in double). Each non-null output
// is replaced by a new tensor.
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db);

// ---- convolution and pooling (engine/ops/conv.cpp, engine/ops/pool.cpp) ----
struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // zero padding
  int groups = 1;            // groups == in_channels == out_channels: depthwise
};
// x [N, Cin, H, W], w [Cout, Cin/groups, KH, KW], b [Cout] or undefined -> [N, Cout, OH, OW]
Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p);
// The gradients conv2d's backward computes for x, w and a bias, given dy [N, Cout, OH, OW]: for layers that
// produce y another way (the quantized layers' integer kernels) but differentiate as this fp32 convolution.
// Each non-null output is replaced by a new tensor.
void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p, Tensor* dx,
                     Tensor* dw, Tensor* db);
int64_t conv_out_size(int64_t in, int k, int stride, int pad);  // floor((in + 2·pad − k)/stride) + 1
Var max_pool2d(const Var& x, int kernel, int stride, int pad = 0);
Var avg_pool2d(const Var& x, int kernel, int stride, int pad = 0);  // padding counts as zeros in the average
Var global_avg_pool(const Var& x);  // [N, C, H, W] -> [N, C]

// ---- normalisation (engine/ops/norm.cpp) ----
// x [N, C] or [N, C, H, W]; gamma, beta [C]; running_mean/var [C] updated in place in training mode with
// r = (1 − momentum)·r + momentum·batch_stat (unbiased variance for the running estimate).
// Eval mode normalises with the running statistics.
Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum = 0.1f, float eps = 1e-5f);
// What follows the normalisation in the same pass: y = act(batch_norm(x) + residual), each part optional.
// It is the tail of a residual block (bn2 → + shortcut → act) or a BN → act pair as one op, which saves the
// separate add and activation passes over memory; values and gradients equal the unfused composition
// (relu / hardtanh / clip, with their gradient windows: z > 0 for ReLU, lo ≤ z ≤ hi for the clamp).
struct BatchNormEpilogue {
  enum class Act { none, relu, clamp };
  Var residual;          // added after the affine when defined (same shape as x); gets ∂L/∂z as its gradient
  Act act = Act::none;   // then max(·, 0) or min(max(·, lo), hi)
  float lo = -1.0f, hi = 1.0f;  // clamp bounds (lo < hi)
};
Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum, float eps, const BatchNormEpilogue& epilogue);

// ---- softmax and losses (engine/ops/loss.cpp); losses return a rank-0 mean over the batch ----
Var softmax(const Var& logits);      // over the last axis of [N, C]
Var log_softmax(const Var& logits);  // over the last axis of [N, C]
// logits [N, C], labels N class indices in [0, C) (throws otherwise); label_smoothing ε spreads ε/C.
Var cross_entropy(const Var& logits, const std::vector<int32_t>& labels, float label_smoothing = 0.0f);
// Hinton distillation: T² · KL(softmax(teacher/T) ‖ softmax(student/T)), mean over the batch. teacher gets no grad.
Var kl_div_with_temperature(const Var& student_logits, const Var& teacher_logits, float temperature);
Var mse_loss(const Var& a, const Var& b);                // mean (a − b)²
Var l1_loss(const Var& a, const Var& b);                 // mean |a − b|
Var huber_loss(const Var& a, const Var& b, float delta); // mean of 0.5 d² (|d| ≤ δ) or δ(|d| − 0.5δ)

// ---- shape (engine/ops/shape.cpp) ----
Var reshape(const Var& a, const Shape& shape);
Var flatten(const Var& a);  // [N, ...] -> [N, rest]
Var concat(const std::vector<Var>& parts, int dim);
Var slice(const Var& a, int dim, int64_t begin, int64_t end);

// ---- regularisation ----
// Inverted dropout: in training, zero with probability p and scale survivors by 1/(1 − p); identity otherwise.
Var dropout(const Var& a, float p, bool training, Rng& rng);

}  // namespace lowbit
