#include "apps/quant_flags.h"

#include <fmt/format.h>

#include "engine/error.h"

namespace lowbit::app {

void add_quant_flags(CLI::App& app, QuantFlags& f) {
  std::string schemes;
  for (const std::string& n : quant::scheme_names()) schemes += (schemes.empty() ? "" : ", ") + n;
  app.add_option("--quant", f.scheme, "Quantization scheme: " + schemes);
  app.add_option("--wbits", f.wbits, "Weight bits (default: the scheme's)");
  app.add_option("--abits", f.abits, "Activation bits (default: the scheme's; 32 = fp32)");
  app.add_option("--first-last", f.first_last, "First/last layer policy: fp32, 8, q (default fp32)");
  app.add_option("--precision-config", f.config_file, "JSON precision config with per-layer overrides");
  app.add_option("--qat-path", f.path, "Forward path of quantized layers: kernel (default) or fake");
  app.add_option("--init", f.init, "Initialise from a saved model/checkpoint (non-strict: new quantizer keys)");
}

std::optional<quant::QuantSpec> quant_spec_from_flags(const QuantFlags& f) {
  // What the user typed, to name in errors.
  std::string given;
  auto note = [&given](const std::string& flag, const std::string& value) {
    if (!value.empty()) given += (given.empty() ? "" : " ") + flag + " " + value;
  };
  note("--quant", f.scheme);
  note("--wbits", f.wbits ? std::to_string(*f.wbits) : "");
  note("--abits", f.abits ? std::to_string(*f.abits) : "");
  note("--first-last", f.first_last);
  const bool quantized = (!f.scheme.empty() && f.scheme != "fp32") || !f.config_file.empty();
  if (!quantized) {
    LOWBIT_CHECK(!f.wbits && !f.abits && (f.first_last.empty() || f.first_last == "fp32"),
                 "{}: bits and a first/last policy need --quant SCHEME or --precision-config", given);
    return std::nullopt;
  }
  quant::QuantSpec spec;
  try {
    spec.path = quant::parse_qat_path(f.path);
  } catch (const Error& e) {
    detail::throw_error(fmt::format("--qat-path: {}", e.what()));
  }
  quant::DefaultsChange change;
  quant::PrecisionConfig base;
  try {
    if (!f.scheme.empty()) change.scheme = quant::parse_scheme(f.scheme);
    if (!f.first_last.empty()) change.first_last = quant::parse_edge_policy(f.first_last);
  } catch (const Error& e) {
    detail::throw_error(fmt::format("{}: {}", given, e.what()));
  }
  change.wbits = f.wbits;
  change.abits = f.abits;
  // The file's own errors name the file; errors of the combination name the flags.
  if (!f.config_file.empty()) base = quant::PrecisionConfig::from_file(f.config_file);
  const std::string source = f.config_file.empty() ? given : given.empty() ? "--precision-config " + f.config_file
                                                                            : given + " with --precision-config " + f.config_file;
  spec.precision = quant::apply_defaults(base, change, source);
  return spec;
}

}  // namespace lowbit::app
