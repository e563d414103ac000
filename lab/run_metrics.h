// The per-run metrics a results table can show next to the accuracy, computed from the trained model:
//   "metrics":    {"size_bytes":  packed weight codes + fp32 scales of every weight layer (fp32 layers at 32 bits),
//                  "avg_wbits":   deployed weight bits averaged over the weights (parameter-weighted),
//                  "bitops":      Σ over weight layers of MACs × weight bits × activation bits (fp32: 32 × 32),
//                  "macs", "weights"}
//   "layer_bits": [{"layer": "conv1", "wbits": 8, "abits": 8, "weights": 150}, ...] in model order
// from quant::precision_report (one forward pass on a zero batch of 1). A training method may report more, or
// finer figures (per-group bits), under "metrics" in its state (quant::Method::state()); those win.
// lab::run_training records both in the run's results.json; the grid runner carries them into the table.
#pragma once
#include <nlohmann/json.hpp>

#include "engine/tensor.h"
#include "nn/module.h"

namespace lowbit::lab {

// {"metrics": {...}, "layer_bits": [...]}.
nlohmann::json model_metrics(nn::Module& model, const Shape& input);
// m with method_state["metrics"]'s numbers laid over m["metrics"] (method_state may be null or lack them).
nlohmann::json with_method_metrics(nlohmann::json m, const nlohmann::json& method_state);

}  // namespace lowbit::lab
