// Model summary: one row per layer (dotted name, type, output shape, parameters, MACs, description) and
// totals. Shapes and MACs come from a real forward pass on a zero batch of 1 under NoGradGuard, in eval mode
// (so BatchNorm statistics are not touched; every module's mode is restored afterwards); each layer reports
// its MACs from the shapes it actually saw (Module::macs). The description column is Module::describe(),
// which quantized layers extend with their bit widths.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nn/module.h"

namespace lowbit::nn {

struct LayerSummary {
  std::string name, type, info;
  Shape out_shape;      // rank 0 when the layer was not called by the forward pass
  bool called = false;
  int64_t params = 0;  // elements of this layer's own parameters
  int64_t macs = 0;    // summed over its calls
};

struct ModelSummary {
  std::string model_type;
  Shape input, output;
  std::vector<LayerSummary> layers;  // leaf modules (and any container with parameters of its own), pre-order
  int64_t total_params = 0;
  int64_t total_macs = 0;
  int64_t param_bytes_fp32() const { return total_params * 4; }
  std::string table() const;  // printable, one layer per line, totals at the end
};

// input: [C, H, W] or [1, C, H, W].
ModelSummary summarize(Module& model, const Shape& input);

// "1,234,567"
std::string with_thousands(int64_t v);

}  // namespace lowbit::nn
