// Flags of --method dcq (sectional distillation, quant/methods/dcq.h).
#include <fmt/format.h>

#include "apps/method_flags.h"
#include "quant/methods/dcq.h"

namespace lowbit::app {

void add_dcq_flags(CLI::App& sub, MethodFlags& flags) {
  const quant::DcqSettings d;
  flags.add<std::string>(sub, "dcq", "--sections", "sections",
                         "DCQ section boundaries: top-level modules to cut after, e.g. pool1,pool2 (auto = the "
                         "model's default: LeNet-5 pool2, ResNet layer1,layer2,layer3, VGG every pool)",
                         d.sections);
  flags.add<std::string>(sub, "dcq", "--dcq-loss", "loss", "DCQ intermediate-section loss: mse | l1 | huber", d.loss);
  flags.add<float>(sub, "dcq", "--dcq-huber-delta", "huber_delta", "DCQ Huber loss delta",
                   fmt::format("{}", d.huber_delta));
  flags.add<std::string>(sub, "dcq", "--dcq-last-loss", "last_loss",
                         "DCQ last-section (and phase-2) loss: ce | kd (on the teacher's logits)", d.last_loss);
  flags.add<float>(sub, "dcq", "--dcq-kd-temperature", "kd_temperature", "DCQ KD temperature (--dcq-last-loss kd)",
                   fmt::format("{}", d.kd_temperature));
  flags.add<float>(sub, "dcq", "--dcq-kd-alpha", "kd_alpha", "DCQ KD weight (--dcq-last-loss kd)",
                   fmt::format("{}", d.kd_alpha));
  flags.add<int>(sub, "dcq", "--dcq-phase1-epochs", "phase1_epochs",
                 "DCQ phase-1 (sectional) epochs; the remaining --epochs fine-tune end to end (0 = all phase 1)",
                 fmt::format("{}", d.phase1_epochs));
  flags.add<std::string>(sub, "dcq", "--dcq-teacher-activation", "teacher_activation",
                         "same (default): the teacher must use the student's hidden activation; bound: clip the "
                         "teacher's boundary outputs to the student's activation range; any: allow a mismatch "
                         "(ablation)",
                         d.teacher_activation);
}

}  // namespace lowbit::app
