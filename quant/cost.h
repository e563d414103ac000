// Size and cost accounting of a (mixed-precision) model: bytes as packed for deployment, split into weights,
// scales and thresholds; average weight bits weighted by parameter count; BitOPs = MACs × wbits × abits. These
// are the x-axes of every accuracy/size comparison (`lowbit info`, results.json "metrics", the reproduce tables,
// the CCQ search target). This file is the single source of those figures: quant/report.h takes its packed sizes
// from here, and so does everything that reports a size.
//
// Per weight layer (Conv2d/Linear, quantized or fp32), with O output rows (axis 0 of the weight) and
// K = weights / O values per row:
//
// Weights, in the canonical packings of kernels/packing.h that an .lbm stores (dtype in brackets):
//   binary (wbits 1)            [b1]  one plane per row of ceil(K/64) uint64 words:  8·O·ceil(K/64) bytes
//   ternary (scheme twn)        [t2]  two such planes per row (mask, sign):          16·O·ceil(K/64) bytes
//   2-bit codes                 [i2]  four per byte, each row starting on a byte:   O·ceil(K/4) bytes
//   3- and 4-bit codes          [i4]  two per byte (3-bit in the i4 container):     O·ceil(K/2) bytes
//   5- to 8-bit codes           [i8]  one per byte (6-bit in the i8 container):     O·K bytes
//   fp32 weights                [f32]                                               4·O·K bytes
//   Rows are padded separately (a row is what a kernel's dot product reads); the padding is counted, since it is
//   stored.
// Scales (every fp32 number a layer keeps besides its weight tensor, 4 bytes each):
//   - the weight scale: 1 per tensor, or O when the scheme's scale is per output channel (XNOR's α_o);
//     quantized weights only (a code format's zero point follows from its bits and is not stored);
//   - the input quantizer: 1 step when the input activations are quantized, 2 (scale, zero point) for the
//     first layer's 8-bit image codes (Precision::image_input);
//   - the epilogue: a BatchNorm that follows the layer (in model order, before the next weight layer) is folded
//     into 2·O numbers (per-channel scale and bias; for an fp32 layer into its weights and O biases); without a
//     BatchNorm the layer's own bias, O numbers, when it has one.
// Thresholds (int32, 4 bytes each): when the next weight layer reads SIGN activations (1-bit input) and the
//   path from this layer to it holds only BatchNorm, element-wise activations, max-pooling, flatten and dropout,
//   the folded BatchNorm + sign is one threshold per output channel (O·4 bytes) instead of the 2·O scale/bias
//   (a channel whose BN scale is negative flips the sign of its weight row, so no direction bit is stored).
//   A residual sum on the path (ResNet's shortcut) keeps the scale/bias epilogue.
// Model bytes = Σ layers (weights + scales + thresholds). Layers other than Conv2d/Linear store nothing of their
// own (BatchNorm is folded as above; the zoo has no BatchNorm without a weight layer before it).
//
// Average weight bits = Σ b_l·N_l / Σ N_l over the weight tensors (N_l weights of layer l), with b = 1 binary,
// 2 ternary (its stored width), k for k-bit codes, 32 for fp32. Biases and BatchNorm are not weights here.
// BitOPs of a layer = MACs × b_w × b_a with b_w as above and b_a the input activation bits (8 for the image
// codes of Precision::image_input, 32 when the input is not quantized), so an fp32 layer counts 32 × 32 = 1024
// bit operations per MAC. MACs are nn::summarize's (a real forward pass on one zero image).
//
// "Model order" is nn::summarize's pre-order of the modules, which in the zoo is the forward order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/tensor.h"
#include "nn/module.h"
#include "quant/precision.h"

namespace lowbit::quant {

// What a weight layer's cost depends on besides its precision (from the model, once).
struct LayerGeometry {
  std::string name, type;
  int64_t weights = 0;   // elements of the weight tensor
  int64_t rows = 0;      // output rows (axis 0 of the weight)
  int64_t macs = 0;      // per image
  bool has_bias = false;
  bool followed_by_bn = false;  // a BatchNorm between this layer and the next weight layer
  bool plain_path = false;      // that path holds only BN / element-wise activations / max-pool / flatten / dropout
  bool per_channel_scale = false;  // filled from the precision's scheme by model_cost
  int64_t row_len() const { return rows > 0 ? weights / rows : 0; }
};

struct LayerCost {
  LayerGeometry geometry;
  Precision precision;
  std::string weight_dtype;  // b1 | t2 | i2 | i4 | i8 | f32
  int wbits = 32;            // b_w of the header (1, 2 ternary, k, 32)
  int abits = 32;            // b_a of the header
  int64_t weight_bytes = 0, scale_bytes = 0, threshold_bytes = 0;
  double bitops = 0.0;
  int64_t bytes() const { return weight_bytes + scale_bytes + threshold_bytes; }
};

struct ModelCost {
  std::vector<LayerCost> layers;
  int64_t weights = 0, macs = 0;
  int64_t weight_bytes = 0, scale_bytes = 0, threshold_bytes = 0;
  double weight_bits = 0.0;  // Σ b·N
  double bitops = 0.0;
  int64_t model_bytes() const { return weight_bytes + scale_bytes + threshold_bytes; }
  double avg_wbits() const { return weights > 0 ? weight_bits / static_cast<double>(weights) : 0.0; }
  // {"size_bytes", "weight_bytes", "scale_bytes", "threshold_bytes", "avg_wbits", "bitops", "macs", "weights"}:
  // the keys results.json "metrics" uses (lab/grids/README.md).
  nlohmann::json metrics() const;
  // [{"layer", "wbits", "abits", "weights", "bytes", "bitops"}, ...] in model order.
  nlohmann::json layer_bits() const;
  std::string table() const;  // per layer and totals, for `lowbit info`
};

// b_w: 1 binary, 2 ternary, k, 32 fp32.
int cost_weight_bits(const Precision& p);
// b_a: the input activation bits, 8 for image codes, 32 when not quantized.
int cost_activation_bits(const Precision& p);
// The packed weight tensor of one layer (see the header) and its .lbm dtype name.
int64_t packed_weight_bytes(const Precision& p, int64_t rows, int64_t row_len);
const char* packed_weight_dtype(const Precision& p);

// The weight layers of a model in model order (one forward pass on a zero image of shape input = [C, H, W]).
std::vector<LayerGeometry> layer_geometry(nn::Module& model, const Shape& input);
// The cost of the layers at the given precisions (one per layer, same order): no model needed, so a bit-width
// search can price a candidate configuration cheaply.
ModelCost model_cost(const std::vector<LayerGeometry>& layers, const std::vector<Precision>& precisions);
// The cost of a built model at the precisions its layers hold (fp32 for plain nn layers).
ModelCost model_cost(nn::Module& model, const Shape& input);
// The precisions a built model's weight layers hold, in model_cost's order.
std::vector<Precision> layer_precisions(nn::Module& model, const std::vector<LayerGeometry>& layers);

}  // namespace lowbit::quant
