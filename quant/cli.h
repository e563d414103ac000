// The QAT options of `lowbit train` (and eval/info): the logic lives here, the CLI registers and calls it.
//   --quant dorefa|bnn|xnor|twn|lsq|pact|fp32   scheme (default fp32: no quantization)
//   --wbits B --abits B                          bits (default: the scheme's, see PrecisionConfig::from_flags)
//   --first-last fp32|8|q                        first/last weight layer policy (default fp32)
//   --precision-config FILE                      JSON config (quant/precision.h); the flags above, when given,
//                                                override its defaults
//   --qat-path kernel|fake                       forward through the low-bit kernels (default) or fp32 fake-quant
//   --init CKPT                                  start from a checkpoint (typically the fp32 model): weights are
//                                                loaded non-strictly (the quantizer parameters are new keys)
// Wiring in apps/ (CLI11): QuantFlags q; add_quant_flags(*subcommand, q); then build the model with
//   auto model = build_quantized_model(model_name, model_options, q, &warnings);
// and install quant::after_optimizer_step(*model) as the Trainer's after-step hook and add
// quant::regularization_loss(*model) to the loss (quant/training.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/zoo/zoo.h"
#include "quant/layers/quantized_layer.h"
#include "quant/precision.h"

namespace lowbit::quant {

struct QuantFlags {
  std::string scheme;  // empty: not given
  int wbits = -1, abits = -1;
  std::string first_last;  // empty: not given
  std::string config_file;
  std::string path = "kernel";
  std::string init;
  // The JSON text of the precision config when the flags are rebuilt from a model's metadata (the config file
  // itself may have changed or be gone since training); takes the place of config_file.
  std::string config_text;
  bool active() const {
    return (!scheme.empty() && scheme != "fp32") || !config_file.empty() || !config_text.empty();
  }
};

// Registers the flags on a CLI11 App (templated so quant/ does not depend on CLI11).
template <class App>
void add_quant_flags(App& app, QuantFlags& f) {
  app.add_option("--quant", f.scheme, "Quantization scheme: fp32, dorefa, bnn, xnor, twn, lsq, pact");
  app.add_option("--wbits", f.wbits, "Weight bits (default: the scheme's)");
  app.add_option("--abits", f.abits, "Activation bits (default: the scheme's; 32 = fp32)");
  app.add_option("--first-last", f.first_last, "First/last layer policy: fp32, 8, q (default fp32)");
  app.add_option("--precision-config", f.config_file, "JSON precision config with per-layer overrides");
  app.add_option("--qat-path", f.path, "Forward path of quantized layers: kernel (default) or fake");
  app.add_option("--init", f.init, "Initialise from a saved model/checkpoint (non-strict: new quantizer keys)");
}

// The flags as recorded in a trained model's metadata under "quant" (self-contained: the config file's text is
// embedded; --init is left out, it only matters when training starts), and back. from_json throws naming the field.
nlohmann::json quant_flags_to_json(const QuantFlags& f);
QuantFlags quant_flags_from_json(const nlohmann::json& j, const std::string& source);

// An nn::ModelBuilder for nn::load_trained_model: a quantized model when extra_meta holds "quant", the plain zoo
// model otherwise.
std::shared_ptr<nn::Module> build_model_from_meta(const std::string& name, const nn::ModelOptions& options,
                                                  const nlohmann::json& extra_meta);

// The precision config the flags describe (validated; errors name the flag or file).
PrecisionConfig precision_from_flags(const QuantFlags& f);
QPath parse_qat_path(const std::string& s);

// Builds the model (quantized when the flags say so; the plain zoo model otherwise), loads --init, and
// returns it. Unmatched-override warnings go to *warnings.
std::shared_ptr<nn::Module> build_quantized_model(const std::string& name, const nn::ModelOptions& options,
                                                  const QuantFlags& f, std::vector<std::string>* warnings = nullptr);

}  // namespace lowbit::quant
