#include "quant/cost.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "nn/summary.h"
#include "quant/layers/quantized_layer.h"
#include "quant/schemes.h"

namespace lowbit::quant {

namespace {
bool is_weight_layer(nn::Module& m, const std::string& type) {
  return type == "Conv2d" || type == "Linear" || dynamic_cast<QuantizedLayer*>(&m) != nullptr;
}
// Modules that may sit between a layer and the sign of the next one without breaking the BN → threshold fold.
bool on_plain_path(const std::string& type) {
  return type == "BatchNorm1d" || type == "BatchNorm2d" || type == "ReLU" || type == "HardTanh" ||
         type == "Clip" || type == "MaxPool2d" || type == "Flatten" || type == "Dropout";
}
bool is_ternary(const Precision& p) { return p.quantizes_weights() && p.scheme == Scheme::twn; }
int64_t words64(int64_t k) { return (k + 63) / 64; }
}  // namespace

int cost_weight_bits(const Precision& p) {
  if (!p.quantizes_weights()) return 32;
  return is_ternary(p) ? 2 : p.wbits;
}

int cost_activation_bits(const Precision& p) {
  if (p.image_input) return 8;
  return p.quantizes_activations() ? p.abits : 32;
}

const char* packed_weight_dtype(const Precision& p) {
  if (!p.quantizes_weights()) return "f32";
  if (is_ternary(p)) return "t2";
  if (p.wbits == 1) return "b1";
  if (p.wbits == 2) return "i2";
  if (p.wbits <= 4) return "i4";
  return "i8";
}

int64_t packed_weight_bytes(const Precision& p, int64_t rows, int64_t row_len) {
  LOWBIT_CHECK(rows >= 0 && row_len >= 0, "packed_weight_bytes: negative shape {}x{}", rows, row_len);
  if (!p.quantizes_weights()) return 4 * rows * row_len;
  LOWBIT_CHECK(p.wbits >= 1 && p.wbits <= 8, "packed_weight_bytes: {} has weight bits {} (valid: 1..8, 32)", p.str(),
               p.wbits);
  if (is_ternary(p)) return 16 * rows * words64(row_len);
  if (p.wbits == 1) return 8 * rows * words64(row_len);
  if (p.wbits == 2) return rows * ((row_len + 3) / 4);
  if (p.wbits <= 4) return rows * ((row_len + 1) / 2);
  return rows * row_len;
}

std::vector<LayerGeometry> layer_geometry(nn::Module& model, const Shape& input) {
  const nn::ModelSummary s = nn::summarize(model, input);
  std::vector<LayerGeometry> out;
  std::vector<size_t> at;  // index in s.layers of each weight layer
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const nn::LayerSummary& ls = s.layers[i];
    nn::Module& m = model.find(ls.name);
    if (!is_weight_layer(m, ls.type)) continue;
    LayerGeometry g;
    g.name = ls.name;
    g.type = ls.type;
    g.macs = ls.macs;
    for (const auto& [n, v] : m.local_parameters()) {
      if (n == "weight") {
        g.weights = v.value().numel();
        g.rows = v.value().shape()[0];
      }
      if (n == "bias") g.has_bias = true;
    }
    if (auto* q = dynamic_cast<QuantizedLayer*>(&m)) {
      const Var w = q->shadow_weight();
      g.weights = w.value().numel();
      g.rows = w.shape()[0];
    }
    LOWBIT_CHECK(g.rows > 0, "cost accounting: layer '{}' ({}) has no weight tensor", ls.name, ls.type);
    out.push_back(g);
    at.push_back(i);
  }
  for (size_t l = 0; l < out.size(); ++l) {
    const size_t end = l + 1 < out.size() ? at[l + 1] : s.layers.size();
    bool plain = l + 1 < out.size();
    for (size_t i = at[l] + 1; i < end; ++i) {
      const std::string& t = s.layers[i].type;
      if (t == "BatchNorm1d" || t == "BatchNorm2d") out[l].followed_by_bn = true;
      if (!on_plain_path(t)) plain = false;
    }
    out[l].plain_path = plain;
  }
  return out;
}

ModelCost model_cost(const std::vector<LayerGeometry>& layers, const std::vector<Precision>& precisions) {
  LOWBIT_CHECK(layers.size() == precisions.size(), "cost accounting: {} layers but {} precisions", layers.size(),
               precisions.size());
  ModelCost c;
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerCost lc;
    lc.geometry = layers[l];
    const Precision& p = precisions[l];
    lc.precision = p;
    const LayerGeometry& g = lc.geometry;
    const int64_t O = g.rows;
    lc.geometry.per_channel_scale = p.quantizes_weights() && scheme_traits(p.scheme).per_channel_weight_scale;
    lc.weight_dtype = packed_weight_dtype(p);
    lc.wbits = cost_weight_bits(p);
    lc.abits = cost_activation_bits(p);
    lc.weight_bytes = packed_weight_bytes(p, O, g.row_len());
    int64_t scales = 0;
    if (p.quantizes_weights()) scales += lc.geometry.per_channel_scale ? O : 1;
    if (p.image_input) scales += 2;
    else if (p.quantizes_activations()) scales += 1;
    const bool next_reads_sign = l + 1 < layers.size() && precisions[l + 1].quantizes_activations() &&
                                 !precisions[l + 1].image_input && precisions[l + 1].abits == 1;
    if (g.followed_by_bn && g.plain_path && next_reads_sign) {
      lc.threshold_bytes = 4 * O;
    } else if (g.followed_by_bn) {
      scales += p.quantizes_weights() ? 2 * O : O;  // fp32: BN folds into the weights and O biases
    } else if (g.has_bias) {
      scales += O;
    }
    lc.scale_bytes = 4 * scales;
    lc.bitops = static_cast<double>(g.macs) * lc.wbits * lc.abits;
    c.weights += g.weights;
    c.macs += g.macs;
    c.weight_bytes += lc.weight_bytes;
    c.scale_bytes += lc.scale_bytes;
    c.threshold_bytes += lc.threshold_bytes;
    c.weight_bits += static_cast<double>(lc.wbits) * static_cast<double>(g.weights);
    c.bitops += lc.bitops;
    c.layers.push_back(std::move(lc));
  }
  return c;
}

std::vector<Precision> layer_precisions(nn::Module& model, const std::vector<LayerGeometry>& layers) {
  std::vector<Precision> out;
  for (const LayerGeometry& g : layers) {
    auto* q = dynamic_cast<QuantizedLayer*>(&model.find(g.name));
    out.push_back(q ? q->precision() : Precision{});
  }
  return out;
}

ModelCost model_cost(nn::Module& model, const Shape& input) {
  const std::vector<LayerGeometry> g = layer_geometry(model, input);
  return model_cost(g, layer_precisions(model, g));
}

nlohmann::json ModelCost::metrics() const {
  return {{"size_bytes", model_bytes()}, {"weight_bytes", weight_bytes}, {"scale_bytes", scale_bytes},
          {"threshold_bytes", threshold_bytes}, {"avg_wbits", avg_wbits()}, {"bitops", bitops},
          {"macs", macs}, {"weights", weights}};
}

nlohmann::json ModelCost::layer_bits() const {
  nlohmann::json a = nlohmann::json::array();
  for (const LayerCost& l : layers)
    a.push_back({{"layer", l.geometry.name}, {"wbits", l.wbits}, {"abits", l.abits}, {"weights", l.geometry.weights},
                 {"bytes", l.bytes()}, {"bitops", l.bitops}});
  return a;
}

std::string ModelCost::table() const {
  std::string t = fmt::format("{:<20} {:<18} {:>5} {:>10} {:>10} {:>8} {:>9} {:>11} {:>16}\n", "layer", "precision",
                              "dtype", "weights", "weight B", "scale B", "thresh B", "MACs", "BitOPs");
  for (const LayerCost& l : layers)
    t += fmt::format("{:<20} {:<18} {:>5} {:>10} {:>10} {:>8} {:>9} {:>11} {:>16}\n", l.geometry.name,
                     l.precision.str(), l.weight_dtype, nn::with_thousands(l.geometry.weights),
                     nn::with_thousands(l.weight_bytes), nn::with_thousands(l.scale_bytes),
                     nn::with_thousands(l.threshold_bytes), nn::with_thousands(l.geometry.macs),
                     nn::with_thousands(static_cast<int64_t>(l.bitops)));
  t += fmt::format(
      "model size {} B packed (weights {} B, scales {} B, thresholds {} B; fp32 weights {} B), average weight bits "
      "{:.3f}, MACs {}, BitOPs {} ({:.4g})\n",
      nn::with_thousands(model_bytes()), nn::with_thousands(weight_bytes), nn::with_thousands(scale_bytes),
      nn::with_thousands(threshold_bytes), nn::with_thousands(4 * weights), avg_wbits(), nn::with_thousands(macs),
      nn::with_thousands(static_cast<int64_t>(bitops)), bitops);
  return t;
}

}  // namespace lowbit::quant
