// Building a zoo model quantized as a typed QuantSpec says, and the record of how it was built.
//
// A QuantSpec is the precision config (defaults, first/last policy, per-layer overrides, scheme options; see
// quant/precision.h) and the forward path of the quantized layers. build_model resolves it once, layer by layer,
// and returns with the model the record that checkpoints, model files and results.json keep under "quant":
//   {"format": 2,
//    "precision": {"scheme": "dorefa", "wbits": 1, "abits": 2, "first_last": "fp32", "unmatched": "error",
//                  "layers": [...overrides...], "options": {...every scheme option...}},
//    "qat_path": "kernel",
//    "layers": [{"name": "conv1", "scheme": "fp32", "wbits": 32, "abits": 32, "image_input": false}, ...]}
// "layers" lists every weight layer with the precision it was built with: loading a file (eval, info, resume)
// rebuilds each layer from that list, never by resolving defaults again, so a later change of a scheme's
// default bits cannot change an existing model. The record never holds a sentinel. The model options stored
// next to it carry the hidden activation the model was built with.
//
// Files written before the record existed hold the flags as given: {"scheme", "wbits", "abits" (−1 = the
// scheme's default), "first_last" ("" = fp32), "qat_path", "config_text"}. They still load: their defaults are
// resolved as the code that wrote them did (the scheme's default bits, the activation the scheme suggests).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/init_load.h"
#include "nn/zoo/zoo.h"
#include "quant/layers/quantized_layer.h"
#include "quant/precision.h"

namespace lowbit::quant {

const char* qat_path_name(QPath p);             // "kernel" | "fake"
QPath parse_qat_path(const std::string& name);  // throws naming the valid names

struct QuantSpec {
  PrecisionConfig precision;
  QPath path = QPath::kernel;
  // {"precision": PrecisionConfig::to_json(), "qat_path": ...}; from_json throws naming source and field.
  nlohmann::json to_json() const;
  static QuantSpec from_json(const nlohmann::json& j, const std::string& source);
  bool operator==(const QuantSpec& o) const { return precision == o.precision && path == o.path; }
  bool operator!=(const QuantSpec& o) const { return !(*this == o); }
};

using LayerPrecisions = std::vector<std::pair<std::string, Precision>>;  // weight layers in model order

struct BuiltModel {
  std::shared_ptr<nn::Module> model;
  nn::ModelOptions options;  // as built: activation is the model's hidden activation
  LayerPrecisions layers;    // every weight layer's precision (empty for a plain model)
  nlohmann::json record;     // the "quant" record (see above); null for a plain model
  nlohmann::json init;       // what an init file loaded (nn::InitRecord::to_json); null without one
};

// The zoo model, quantized per spec (hidden activation: the one the default scheme suggests), or the plain
// model when spec is empty. Unmatched-override warnings go to *warnings (or throw, as the config says).
BuiltModel build_model(const std::string& name, const nn::ModelOptions& options, const std::optional<QuantSpec>& spec,
                       std::vector<std::string>* warnings = nullptr);
// The model a "quant" record describes (either form), each layer at its recorded precision. Throws naming
// source when the record is malformed or does not list exactly the model's weight layers.
BuiltModel build_model_from_record(const std::string& name, const nn::ModelOptions& options,
                                   const nlohmann::json& record, const std::string& source);
// The spec a record describes (either form).
QuantSpec spec_from_record(const nlohmann::json& record, const std::string& source);
// An nn::ModelBuilder for nn::load_trained_model: the recorded quantized model when extra_meta holds "quant",
// the plain zoo model otherwise.
std::shared_ptr<nn::Module> build_model_from_meta(const std::string& name, const nn::ModelOptions& options,
                                                  const nlohmann::json& extra_meta);

// Loads a saved model's or a checkpoint's weights into model (nn::load_init): every weight, bias and BatchNorm
// statistic must come from the file; only the quantizers' own learned state (LSQ steps, PACT's alpha, the input
// range: initialised from data when absent) may start fresh. Marks the packed weights stale.
nn::InitRecord load_init(nn::Module& model, const std::string& path);

// The model of a training run: build_model(spec) and init loaded; or, when resume_checkpoint names an existing
// checkpoint, the model its record describes (the spec must describe the same quantization: otherwise an error
// saying the model was built differently) with the record kept as it is, so the continued run writes the same.
BuiltModel build_run_model(const std::string& name, const nn::ModelOptions& options,
                           const std::optional<QuantSpec>& spec, const std::string& init,
                           const std::string& resume_checkpoint, std::vector<std::string>* warnings = nullptr);

// One line per weight layer ("conv1  fp32", "conv2  dorefa W1A2"), as a table.
std::string describe_layers(const LayerPrecisions& layers);

}  // namespace lowbit::quant
