// Maps a precision config onto the model zoo through nn::ModelOptions::make_layer: every weight layer whose
// resolved precision is not fp32 becomes a QConv2d / QLinear (same shadow-weight names and initialisation as
// the fp32 layer, so the same seed gives the same starting weights and an fp32 checkpoint loads into it with
// load_state_dict(..., strict = false) — the quantizer parameters are the only extra keys).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/zoo/zoo.h"
#include "quant/layers/quantized_layer.h"
#include "quant/precision.h"

namespace lowbit::quant {

// The layer factory for a config (layers resolved to fp32 are the plain nn layers).
nn::LayerFactory quantized_layer_factory(const PrecisionConfig& cfg, QPath path = QPath::kernel);
// The layer factory for a precision given per layer (e.g. a file's record of what was resolved): no resolution.
using PrecisionOf = std::function<Precision(const nn::LayerSpec&)>;
nn::LayerFactory quantized_layer_factory(PrecisionOf precision_of, const QuantOptions& options, QPath path);

// The hidden activation that suits the default scheme: hardtanh for sign activations (bnn, xnor with
// abits 1; ReLU would make every sign +1), clip(0, 1) for DoReFa/TWN activations, ReLU otherwise (PACT and
// LSQ clip inside their quantizers).
nn::Activation suggested_activation(const PrecisionConfig& cfg);

struct QuantModelOptions {
  QPath path = QPath::kernel;
  bool set_activation = true;  // replace options.activation by suggested_activation(cfg)
};

// The scheme's suggested hidden activation for a config's defaults.
nn::Activation suggested_activation(const Precision& defaults);

// make_model with the quantized factory; checks the config's overrides against the model's weight-layer
// names (error, or warnings appended to *warnings when the config says "warn").
std::shared_ptr<nn::Module> make_quantized_model(const std::string& name, nn::ModelOptions options,
                                                 const PrecisionConfig& cfg, const QuantModelOptions& q = {},
                                                 std::vector<std::string>* warnings = nullptr);

}  // namespace lowbit::quant
