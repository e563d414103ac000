#include "quant/report.h"

#include <fmt/format.h>

#include "nn/summary.h"
#include "quant/cost.h"

namespace lowbit::quant {

int deployed_weight_bits(const Precision& p) { return cost_weight_bits(p); }

PrecisionReport precision_report(nn::Module& model, const Shape& input) {
  // Sizes, weights and MACs come from quant/cost.h, the single source of the accounting.
  const ModelCost cost = model_cost(model, input);
  PrecisionReport r;
  for (const LayerCost& lc : cost.layers) {
    LayerPrecisionRow row;
    row.name = lc.geometry.name;
    row.type = lc.geometry.type;
    row.precision = lc.precision;
    row.weights = lc.geometry.weights;
    row.packed_bytes = lc.bytes();
    row.macs = lc.geometry.macs;
    r.total_weights += row.weights;
    r.fp32_weight_bytes += 4 * row.weights;
    r.packed_weight_bytes += row.packed_bytes;
    r.weight_bits += double(deployed_weight_bits(row.precision)) * double(row.weights);
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
