// Flags of --method br (block-replacement guided QAT, quant/methods/block_replacement.h).
#include <fmt/format.h>

#include "apps/method_flags.h"
#include "quant/methods/block_replacement.h"

namespace lowbit::app {

void add_br_flags(CLI::App& sub, MethodFlags& flags) {
  flags.add<std::vector<float>>(sub, "br", "--br-lambda", "lambda",
                                "BR weight of each mixed model's loss: one value, or one per k (comma-separated)", "1")
      ->delimiter(',');
  flags.add<std::vector<int>>(sub, "br", "--br-mixed", "mixed",
                              "BR mixed models to train, by k = number of quantized blocks (comma-separated)", "all")
      ->delimiter(',');
  flags.add<std::string>(sub, "br", "--br-replacement", "replacement",
                         "BR mixed models: prefix (first k blocks quantized) or single (only block k quantized)",
                         "prefix");
  flags.add<std::string>(sub, "br", "--br-blocks", "blocks",
                         "BR blocks: stages, basic (ResNet BasicBlocks) or the comma-separated modules ending blocks",
                         "stages");
  flags.add<std::string>(sub, "br", "--br-base", "base",
                         "BR base quantizer the run must use (--quant): lsq, dorefa or any", "lsq");
  flags.add<float>(sub, "br", "--br-kd-alpha", "kd_alpha", "BR KD weight A on every chain model's loss (0 = off)",
                   "0");
  flags.add<float>(sub, "br", "--br-kd-temperature", "kd_temperature", "BR KD softmax temperature",
                   fmt::format("{}", quant::BlockReplacement::kDefaultTemperature));
}

}  // namespace lowbit::app
