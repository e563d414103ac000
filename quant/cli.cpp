#include "quant/cli.h"

#include "engine/error.h"
#include "nn/archive.h"
#include "quant/factory.h"
#include "quant/training.h"

namespace lowbit::quant {

QPath parse_qat_path(const std::string& s) {
  if (s == "kernel") return QPath::kernel;
  if (s == "fake") return QPath::fake;
  LOWBIT_CHECK(false, "--qat-path: \"{}\" is not valid (valid: kernel, fake)", s);
  return QPath::kernel;
}

PrecisionConfig precision_from_flags(const QuantFlags& f) {
  if (f.config_file.empty())
    return PrecisionConfig::from_flags(f.scheme.empty() ? "fp32" : f.scheme, f.wbits, f.abits,
                                       f.first_last.empty() ? "fp32" : f.first_last);
  PrecisionConfig c = PrecisionConfig::from_file(f.config_file);
  if (!f.scheme.empty()) {
    const PrecisionConfig d = PrecisionConfig::from_flags(f.scheme, f.wbits, f.abits, "fp32");
    c.defaults = d.defaults;
  } else {
    if (f.wbits >= 0) c.defaults.wbits = f.wbits;
    if (f.abits >= 0) c.defaults.abits = f.abits;
  }
  if (!f.first_last.empty()) c.first_last = parse_edge_policy(f.first_last);
  c.validate_all(f.config_file + " with command-line flags");
  return c;
}

std::shared_ptr<nn::Module> build_quantized_model(const std::string& name, const nn::ModelOptions& options,
                                                  const QuantFlags& f, std::vector<std::string>* warnings) {
  std::shared_ptr<nn::Module> model;
  if (f.active()) {
    QuantModelOptions q;
    q.path = parse_qat_path(f.path);
    model = make_quantized_model(name, options, precision_from_flags(f), q, warnings);
  } else {
    model = nn::make_model(name, options);
  }
  if (!f.init.empty()) {
    nn::load_module(f.init, *model, "", /*strict=*/false);
    bump_weight_versions(*model);
  }
  return model;
}

}  // namespace lowbit::quant
