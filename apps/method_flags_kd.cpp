// Flags of --method kd (knowledge distillation, quant/methods/kd.h).
#include <fmt/format.h>

#include "apps/method_flags.h"
#include "quant/methods/kd.h"

namespace lowbit::app {

void add_kd_flags(CLI::App& sub, MethodFlags& flags) {
  using quant::KnowledgeDistillation;
  flags.add<float>(sub, "kd", "--kd-temperature", "temperature", "KD softmax temperature T",
                   fmt::format("{}", KnowledgeDistillation::kDefaultTemperature));
  flags.add<float>(sub, "kd", "--kd-alpha", "alpha", "KD weight A: loss = (1-A)*CE + A*T^2*KL",
                   fmt::format("{}", KnowledgeDistillation::kDefaultAlpha));
}

}  // namespace lowbit::app
