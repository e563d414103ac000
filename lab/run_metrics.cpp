#include "lab/run_metrics.h"

#include "quant/report.h"

namespace lowbit::lab {

nlohmann::json model_metrics(nn::Module& model, const Shape& input) {
  const quant::PrecisionReport r = quant::precision_report(model, input);
  double bitops = 0.0;
  nlohmann::json layers = nlohmann::json::array();
  for (const quant::LayerPrecisionRow& l : r.layers) {
    const int wb = quant::deployed_weight_bits(l.precision);
    const int ab = l.precision.quantizes_activations() ? l.precision.abits : 32;
    bitops += static_cast<double>(l.macs) * wb * ab;
    layers.push_back({{"layer", l.name}, {"wbits", wb}, {"abits", ab}, {"weights", l.weights}});
  }
  nlohmann::json metrics = {{"size_bytes", r.packed_weight_bytes},
                            {"avg_wbits", r.total_weights > 0 ? r.weight_bits / static_cast<double>(r.total_weights) : 0.0},
                            {"bitops", bitops},
                            {"macs", r.total_macs},
                            {"weights", r.total_weights}};
  return {{"metrics", metrics}, {"layer_bits", layers}};
}

nlohmann::json with_method_metrics(nlohmann::json m, const nlohmann::json& method_state) {
  if (!method_state.is_object() || !method_state.contains("metrics") || !method_state["metrics"].is_object()) return m;
  for (auto it = method_state["metrics"].begin(); it != method_state["metrics"].end(); ++it)
    if (it.value().is_number()) m["metrics"][it.key()] = it.value();
  return m;
}

}  // namespace lowbit::lab
