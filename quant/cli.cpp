#include "quant/cli.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

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
  if (f.config_file.empty() && f.config_text.empty())
    return PrecisionConfig::from_flags(f.scheme.empty() ? "fp32" : f.scheme, f.wbits, f.abits,
                                       f.first_last.empty() ? "fp32" : f.first_last);
  const std::string source = f.config_text.empty() ? f.config_file : std::string("the recorded precision config");
  PrecisionConfig c = f.config_text.empty() ? PrecisionConfig::from_file(f.config_file)
                                            : PrecisionConfig::from_json_text(f.config_text, source);
  if (!f.scheme.empty()) {
    const PrecisionConfig d = PrecisionConfig::from_flags(f.scheme, f.wbits, f.abits, "fp32");
    c.defaults = d.defaults;
  } else {
    if (f.wbits >= 0) c.defaults.wbits = f.wbits;
    if (f.abits >= 0) c.defaults.abits = f.abits;
  }
  if (!f.first_last.empty()) c.first_last = parse_edge_policy(f.first_last);
  c.validate_all(source + " with command-line flags");
  return c;
}

nlohmann::json quant_flags_to_json(const QuantFlags& f) {
  std::string text = f.config_text;
  if (text.empty() && !f.config_file.empty()) {
    std::ifstream in(f.config_file);
    LOWBIT_CHECK(in, "--precision-config: cannot read '{}'", f.config_file);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  return {{"scheme", f.scheme}, {"wbits", f.wbits},       {"abits", f.abits},
          {"first_last", f.first_last}, {"qat_path", f.path}, {"config_text", text}};
}

QuantFlags quant_flags_from_json(const nlohmann::json& j, const std::string& source) {
  QuantFlags f;
  try {
    f.scheme = j.at("scheme").get<std::string>();
    f.wbits = j.at("wbits").get<int>();
    f.abits = j.at("abits").get<int>();
    f.first_last = j.at("first_last").get<std::string>();
    f.path = j.at("qat_path").get<std::string>();
    f.config_text = j.at("config_text").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "{}: bad quantization record: {}", source, e.what());
  }
  return f;
}

std::shared_ptr<nn::Module> build_model_from_meta(const std::string& name, const nn::ModelOptions& options,
                                                  const nlohmann::json& extra_meta) {
  if (!extra_meta.contains("quant")) return nn::make_model(name, options);
  return build_quantized_model(name, options, quant_flags_from_json(extra_meta["quant"], "model metadata"));
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
