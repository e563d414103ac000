// `lowbit info` for quantized models: per weight layer its precision, weight count, deployed size (weights
// packed, scales and thresholds, as quant/cost.h counts them: that file is the single source) and MACs, then
// totals, the weight compression rate CR = 32·ΣN / Σ b·N (formula sheet §1.7) and MACs grouped by precision.
// MACs come from nn::summarize (a real forward pass on a zero batch of 1, eval mode, no graph).
//
// CLI wiring (apps/, the data helper's): after building the model,
//   std::cout << lowbit::quant::precision_report(*model, lowbit::Shape{C, H, W}).table();
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nn/module.h"
#include "quant/precision.h"

namespace lowbit::quant {

struct LayerPrecisionRow {
  std::string name, type;
  Precision precision;    // fp32 for plain nn layers
  int64_t weights = 0;    // elements of the weight tensor
  int64_t packed_bytes = 0;
  int64_t macs = 0;
};

struct PrecisionReport {
  std::vector<LayerPrecisionRow> layers;
  int64_t total_weights = 0, fp32_weight_bytes = 0, packed_weight_bytes = 0, total_macs = 0;
  double weight_bits = 0;                  // Σ b·N
  std::map<std::string, int64_t> macs_by_precision;
  double compression_rate() const { return weight_bits > 0 ? 32.0 * double(total_weights) / weight_bits : 1.0; }
  std::string table() const;
};

// Bits one weight occupies when deployed: 1 binary, 2 ternary, k for k-bit codes, 32 for fp32.
int deployed_weight_bits(const Precision& p);

PrecisionReport precision_report(nn::Module& model, const Shape& input);

}  // namespace lowbit::quant
