// Parameter initialisation: fills a Tensor in place from an Rng (serially, so the values depend only on the
// seed). Fan-in/fan-out follow PyTorch: for a weight [out, in, kh, kw] (or [out, in]) fan_in = in·kh·kw and
// fan_out = out·kh·kw.
#pragma once
#include <cstdint>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace lowbit {

int64_t fan_in(const Shape& weight_shape);   // throws on rank < 2
int64_t fan_out(const Shape& weight_shape);  // throws on rank < 2

void uniform_(Tensor& t, Rng& rng, float lo, float hi);
void normal_(Tensor& t, Rng& rng, float mean = 0.0f, float stddev = 1.0f);
// He et al.: N(0, gain²/fan_in), gain = √2 for ReLU networks (PyTorch kaiming_normal_, mode fan_in).
void kaiming_normal_(Tensor& w, Rng& rng, float gain = 1.4142135623730951f);
// U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1 + a²)). a = √5 gives PyTorch's default Conv/Linear
// initialisation b = 1/√fan_in.
void kaiming_uniform_(Tensor& w, Rng& rng, float a = 2.2360679774997896f);
// Glorot: U(−b, b), b = gain·√(6/(fan_in + fan_out)).
void xavier_uniform_(Tensor& w, Rng& rng, float gain = 1.0f);
// PyTorch's default bias initialisation for a layer with the given fan_in: U(−1/√fan_in, 1/√fan_in).
void bias_uniform_(Tensor& b, Rng& rng, int64_t fan_in);

}  // namespace lowbit
