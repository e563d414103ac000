// Fuzz target: the precision-config reader (quant::PrecisionConfig::from_json_text), then resolution and the
// override check against a few layer names (globs included), as `lowbit train --precision FILE` uses it.
#include <string>

#include "engine/error.h"
#include "quant/precision.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lowbit::quant::PrecisionConfig c = lowbit::quant::PrecisionConfig::from_json_text(text, "fuzz.json");
    (void)c.check_overrides({"conv1", "layer1.0.conv1", "layer2.1.conv2", "fc"});
    (void)c.resolve("conv1", true, false).str();
    (void)c.resolve("layer1.0.conv1", false, false).str();
    (void)c.resolve("fc", false, true).str();
  } catch (const lowbit::Error&) {
  }
  return 0;
}
