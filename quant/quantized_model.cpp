#include "quant/quantized_model.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "engine/error.h"
#include "nn/archive.h"
#include "nn/train/trainer.h"
#include "quant/factory.h"
#include "quant/training.h"

namespace lowbit::quant {

namespace {

constexpr int kRecordFormat = 2;

// Builds name with every weight layer at precision_of(spec), collecting what each layer got.
BuiltModel build_with(const std::string& name, nn::ModelOptions options, const PrecisionOf& precision_of,
                      const QuantOptions& qopts, QPath path) {
  BuiltModel b;
  const nn::LayerFactory inner = quantized_layer_factory(precision_of, qopts, path);
  LayerPrecisions* layers = &b.layers;
  options.make_layer = [layers, precision_of, inner](const nn::LayerSpec& spec, Rng& rng) {
    layers->emplace_back(spec.name, precision_of(spec));
    return inner(spec, rng);
  };
  b.model = nn::make_model(name, options);
  options.make_layer = nullptr;
  b.options = options;
  return b;
}

nlohmann::json layer_json(const std::string& name, const Precision& p) {
  return {{"name", name},
          {"scheme", scheme_name(p.scheme)},
          {"wbits", p.wbits},
          {"abits", p.abits},
          {"image_input", p.image_input}};
}

nlohmann::json make_record(const QuantSpec& spec, const LayerPrecisions& layers) {
  nlohmann::json l = nlohmann::json::array();
  for (const auto& [name, p] : layers) l.push_back(layer_json(name, p));
  return {{"format", kRecordFormat}, {"precision", spec.precision.to_json()}, {"qat_path", qat_path_name(spec.path)},
          {"layers", l}};
}

bool is_old_record(const nlohmann::json& r) { return r.is_object() && !r.contains("format"); }

// The flags a file written before the record existed holds (see the header).
QuantSpec spec_from_old_record(const nlohmann::json& r, const std::string& source) {
  std::string scheme, first_last, path, text;
  int wbits = 0, abits = 0;
  try {
    scheme = r.at("scheme").get<std::string>();
    wbits = r.at("wbits").get<int>();
    abits = r.at("abits").get<int>();
    first_last = r.at("first_last").get<std::string>();
    path = r.at("qat_path").get<std::string>();
    text = r.at("config_text").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "{}: bad quantization record: {}", source, e.what());
  }
  DefaultsChange change;
  if (!scheme.empty()) change.scheme = parse_scheme(scheme);
  if (wbits >= 0) change.wbits = wbits;
  if (abits >= 0) change.abits = abits;
  if (!first_last.empty()) change.first_last = parse_edge_policy(first_last);
  PrecisionConfig base;
  if (!text.empty()) {
    base = PrecisionConfig::from_json_text(text, source + ": the recorded precision config");
  } else if (!change.scheme) {
    change.scheme = Scheme::fp32;
  }
  QuantSpec s;
  s.precision = apply_defaults(base, change, source + ": quantization record");
  s.path = parse_qat_path(path);
  return s;
}

Precision layer_from_json(const nlohmann::json& l, const std::string& where) {
  Precision p;
  try {
    p.scheme = parse_scheme(l.at("scheme").get<std::string>());
    p.wbits = l.at("wbits").get<int>();
    p.abits = l.at("abits").get<int>();
    p.image_input = l.at("image_input").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "{}: {}", where, e.what());
  }
  validate(p, where);
  return p;
}

}  // namespace

const char* qat_path_name(QPath p) { return p == QPath::fake ? "fake" : "kernel"; }

QPath parse_qat_path(const std::string& name) {
  if (name == "kernel") return QPath::kernel;
  if (name == "fake") return QPath::fake;
  LOWBIT_CHECK(false, "qat path \"{}\" is not valid (valid: kernel, fake)", name);
  return QPath::kernel;
}

nlohmann::json QuantSpec::to_json() const {
  return {{"precision", precision.to_json()}, {"qat_path", qat_path_name(path)}};
}

QuantSpec QuantSpec::from_json(const nlohmann::json& j, const std::string& source) {
  LOWBIT_CHECK(j.is_object() && j.contains("precision") && j.contains("qat_path") && j["qat_path"].is_string(),
               "{}: a quantization spec needs \"precision\" and \"qat_path\", got {}", source, j.dump());
  QuantSpec s;
  s.precision = PrecisionConfig::from_json(j["precision"], source + ": precision");
  s.path = parse_qat_path(j["qat_path"].get<std::string>());
  return s;
}

BuiltModel build_model(const std::string& name, const nn::ModelOptions& options, const std::optional<QuantSpec>& spec,
                       std::vector<std::string>* warnings) {
  if (!spec) {
    BuiltModel b;
    b.model = nn::make_model(name, options);
    b.options = options;
    b.options.make_layer = nullptr;
    return b;
  }
  const PrecisionConfig& cfg = spec->precision;
  nn::ModelOptions o = options;
  o.activation = suggested_activation(cfg);
  BuiltModel b = build_with(
      name, o, [cfg](const nn::LayerSpec& s) { return cfg.resolve(s); }, cfg.options, spec->path);
  std::vector<std::string> names;
  for (const auto& l : b.layers) names.push_back(l.first);
  const std::vector<std::string> w = cfg.check_overrides(names);
  if (warnings) warnings->insert(warnings->end(), w.begin(), w.end());
  b.record = make_record(*spec, b.layers);
  return b;
}

QuantSpec spec_from_record(const nlohmann::json& record, const std::string& source) {
  LOWBIT_CHECK(record.is_object(), "{}: the quantization record must be an object, got {}", source, record.dump());
  if (is_old_record(record)) return spec_from_old_record(record, source);
  LOWBIT_CHECK(record["format"] == kRecordFormat, "{}: quantization record format {} is not known (this build reads {})",
               source, record["format"].dump(), kRecordFormat);
  return QuantSpec::from_json(record, source);
}

BuiltModel build_model_from_record(const std::string& name, const nn::ModelOptions& options,
                                   const nlohmann::json& record, const std::string& source) {
  const QuantSpec spec = spec_from_record(record, source);
  if (is_old_record(record)) {
    // Resolved as the writing code did: defaults, the suggested activation (its model options said relu).
    BuiltModel b = build_model(name, options, spec);
    b.record = record;
    return b;
  }
  LOWBIT_CHECK(record.contains("layers") && record["layers"].is_array(), "{}: the quantization record lists no layers",
               source);
  std::map<std::string, Precision> recorded;
  for (size_t i = 0; i < record["layers"].size(); ++i) {
    const nlohmann::json& l = record["layers"][i];
    const std::string where = fmt::format("{}: quantization record layers[{}]", source, i);
    LOWBIT_CHECK(l.is_object() && l.contains("name") && l["name"].is_string(), "{}: needs a layer name", where);
    const std::string n = l["name"].get<std::string>();
    LOWBIT_CHECK(recorded.emplace(n, layer_from_json(l, where + " (\"" + n + "\")")).second,
                 "{}: layer \"{}\" is listed twice", where, n);
  }
  auto precision_of = [&recorded, &source](const nn::LayerSpec& s) {
    const auto it = recorded.find(s.name);
    LOWBIT_CHECK(it != recorded.end(), "{}: the quantization record has no precision for weight layer \"{}\"", source,
                 s.name);
    return it->second;
  };
  BuiltModel b = build_with(name, options, precision_of, spec.precision.options, spec.path);
  LOWBIT_CHECK(b.layers.size() == recorded.size(),
               "{}: the quantization record lists {} layers, the model '{}' has {} weight layers", source,
               recorded.size(), name, b.layers.size());
  b.record = record;
  return b;
}

std::shared_ptr<nn::Module> build_model_from_meta(const std::string& name, const nn::ModelOptions& options,
                                                  const nlohmann::json& extra_meta) {
  if (!extra_meta.contains("quant")) return nn::make_model(name, options);
  return build_model_from_record(name, options, extra_meta["quant"], "model metadata").model;
}

nn::InitRecord load_init(nn::Module& model, const std::string& path) {
  // The state QuantizedLayer::init_quant_params registers (quant/layers/quantized_layer.h).
  static const char* const kQuantizerState[] = {"w_step", "a_step", "lsq_ready", "alpha", "input_range"};
  nn::InitOptions o;
  o.may_start_fresh = [](const std::string& name) {
    const std::string leaf = name.substr(name.rfind('.') + 1);
    for (const char* q : kQuantizerState)
      if (leaf == q) return true;
    return false;
  };
  nn::InitRecord r = nn::load_init(path, model, o);
  bump_weight_versions(model);
  return r;
}

BuiltModel build_run_model(const std::string& name, const nn::ModelOptions& options,
                           const std::optional<QuantSpec>& spec, const std::string& init,
                           const std::string& resume_checkpoint, std::vector<std::string>* warnings) {
  std::error_code ec;
  if (resume_checkpoint.empty() || !std::filesystem::exists(resume_checkpoint, ec)) {
    BuiltModel b = build_model(name, options, spec, warnings);
    if (!init.empty()) b.init = load_init(*b.model, init).to_json();
    return b;
  }
  const nlohmann::json meta = nn::read_archive(resume_checkpoint).meta;
  const nlohmann::json extra = meta.value("extra", nlohmann::json::object());
  const bool recorded = extra.is_object() && extra.contains("quant");
  const std::string now = spec ? spec->to_json().dump() : "fp32";
  if (!recorded) {
    LOWBIT_CHECK(!spec, "cannot resume from '{}': the model was built differently (checkpoint fp32, now {})",
                 resume_checkpoint, now);
    return build_model(name, options, spec, warnings);
  }
  const nlohmann::json& record = extra["quant"];
  const QuantSpec have = spec_from_record(record, resume_checkpoint);
  LOWBIT_CHECK(spec && *spec == have, "cannot resume from '{}': the model was built differently (checkpoint {}, now {})",
               resume_checkpoint, have.to_json().dump(), now);
  nn::ModelOptions o = options;  // the hidden activation the checkpoint's model was built with
  if (meta.contains("model_options")) o.activation = nn::model_options_from_json(meta["model_options"], resume_checkpoint).activation;
  return build_model_from_record(name, o, record, resume_checkpoint);
}

std::string describe_layers(const LayerPrecisions& layers) {
  std::string t;
  for (const auto& [name, p] : layers) t += fmt::format("  {:<24} {}\n", name, p.str());
  return t;
}

}  // namespace lowbit::quant
