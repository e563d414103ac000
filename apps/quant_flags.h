// The quantization flags of `lowbit train` and `lowbit info`, and their translation into a typed
// quant::QuantSpec (the libraries never see a flag):
//   --quant dorefa|bnn|xnor|twn|lsq|pact|fp32   scheme (default fp32: no quantization)
//   --wbits B --abits B                          bits (default: the scheme's, quant::default_precision)
//   --first-last fp32|8|q                        first/last weight layer policy (default fp32)
//   --precision-config FILE                      JSON config (quant/precision.h); the flags above, when given,
//                                                override its defaults
//   --qat-path kernel|fake                       forward through the low-bit kernels (default) or fp32 fake-quant
//   --init CKPT                                  start from a saved model or checkpoint (typically the fp32 model):
//                                                loaded non-strictly (the quantizer parameters are new keys)
// The defaults are resolved here, once, when the flags become a PrecisionConfig.
#pragma once
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "quant/quantized_model.h"

namespace lowbit::app {

struct QuantFlags {
  std::string scheme;                // empty: not given
  std::optional<int> wbits, abits;   // empty: the scheme's default
  std::string first_last;            // empty: not given
  std::string config_file;
  std::string path = "kernel";
  std::string init;
};

void add_quant_flags(CLI::App& app, QuantFlags& f);

// The quantization the flags describe: empty for an fp32 model (no --quant, or --quant fp32, and no
// --precision-config). Throws lowbit::Error naming the flags or the config file.
std::optional<quant::QuantSpec> quant_spec_from_flags(const QuantFlags& f);

}  // namespace lowbit::app
