#include "quant/report.h"

#include <fmt/format.h>

#include "nn/summary.h"
#include "quant/layers/quantized_layer.h"
#include "quant/schemes.h"

namespace lowbit::quant {

int deployed_weight_bits(const Precision& p) { return p.quantizes_weights() ? p.wbits : 32; }

PrecisionReport precision_report(nn::Module& model, const Shape& input) {
  const nn::ModelSummary s = nn::summarize(model, input);
  PrecisionReport r;
  for (const auto& ls : s.layers) {
    nn::Module& m = model.find(ls.name);
    const bool weight_layer = ls.type == "Conv2d" || ls.type == "Linear" || dynamic_cast<QuantizedLayer*>(&m);
    if (!weight_layer) continue;
    LayerPrecisionRow row;
    row.name = ls.name;
    row.type = ls.type;
    for (const auto& [n, v] : m.local_parameters())
      if (n == "weight") row.weights = v.value().numel();
    int64_t scales = 0;
    if (auto* q = dynamic_cast<QuantizedLayer*>(&m)) {
      row.precision = q->precision();
      // One fp32 scale per tensor, or per output channel (XNOR's α_o).
      const Var w = q->shadow_weight();
      scales = row.precision.quantizes_weights()
                   ? (scheme_traits(row.precision.scheme).per_channel_weight_scale ? w.shape()[0] : 1)
                   : 0;
    }
    const int b = deployed_weight_bits(row.precision);
    row.packed_bytes = (row.weights * b + 7) / 8 + 4 * scales;
    row.macs = ls.macs;
    r.total_weights += row.weights;
    r.fp32_weight_bytes += 4 * row.weights;
    r.packed_weight_bytes += row.packed_bytes;
    r.weight_bits += double(b) * double(row.weights);
    r.total_macs += row.macs;
    r.macs_by_precision[row.precision.str()] += row.macs;
    r.layers.push_back(row);
  }
  return r;
}

std::string PrecisionReport::table() const {
  std::string t = fmt::format("{:<24} {:<9} {:<16} {:>12} {:>12} {:>14}\n", "layer", "type", "precision", "weights",
                              "packed B", "MACs");
  for (const auto& l : layers)
    t += fmt::format("{:<24} {:<9} {:<16} {:>12} {:>12} {:>14}\n", l.name, l.type, l.precision.str(),
                     nn::with_thousands(l.weights), nn::with_thousands(l.packed_bytes), nn::with_thousands(l.macs));
  t += fmt::format("weights {} ({} B fp32 -> {} B packed), compression rate {:.2f}x, MACs {}\n",
                   nn::with_thousands(total_weights), nn::with_thousands(fp32_weight_bytes),
                   nn::with_thousands(packed_weight_bytes), compression_rate(), nn::with_thousands(total_macs));
  for (const auto& [p, m] : macs_by_precision)
    t += fmt::format("  MACs at {:<16} {:>14} ({:.1f}%)\n", p, nn::with_thousands(m),
                     total_macs > 0 ? 100.0 * double(m) / double(total_macs) : 0.0);
  return t;
}

}  // namespace lowbit::quant
