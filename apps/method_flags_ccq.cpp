// Flags of --method ccq (competitive-collaborative bit allocation, quant/methods/ccq.h). The search validates on
// the run's hold-out (--val-holdout N) and starts from the fp32 model given by --init.
#include <fmt/format.h>

#include "apps/method_flags.h"
#include "quant/methods/ccq.h"

namespace lowbit::app {

void add_ccq_flags(CLI::App& sub, MethodFlags& flags) {
  const quant::CcqSettings d;
  flags.add<std::string>(sub, "ccq", "--ccq-ladder", "ladder", "CCQ bit ladder, top rung first (bits 1..8 or t)",
                         d.ladder);
  flags.add<std::string>(sub, "ccq", "--ccq-target", "target", "CCQ stops at: avg_wbits | size_bytes | bitops",
                         d.target);
  flags.add<double>(sub, "ccq", "--ccq-target-value", "target_value", "CCQ target value (bits, bytes or BitOPs)",
                    fmt::format("{}", d.target_value));
  flags.add<int>(sub, "ccq", "--ccq-warmup-steps", "warmup_steps", "CCQ QAT steps per candidate",
                 fmt::format("{}", d.warmup_steps));
  flags.add<int>(sub, "ccq", "--ccq-finetune-steps", "finetune_steps", "CCQ QAT steps of each round's fine-tune",
                 fmt::format("{}", d.finetune_steps));
  flags.add<std::string>(sub, "ccq", "--ccq-weight-by", "weight_by", "CCQ score per bit saved: params | bitops",
                         d.weight_by);
  flags.add<int>(sub, "ccq", "--ccq-top-k", "top_k", "CCQ winners per round", fmt::format("{}", d.top_k));
  flags.add<std::string>(sub, "ccq", "--ccq-choice", "choice", "CCQ winner choice: best | bandit", d.choice);
  flags.add<double>(sub, "ccq", "--ccq-bandit-eta", "bandit_eta", "CCQ exponential-weights rate",
                    fmt::format("{}", d.bandit_eta));
  flags.add<double>(sub, "ccq", "--ccq-epsilon", "epsilon", "CCQ roll-back tolerance against fp32 (accuracy fraction)",
                    fmt::format("{}", d.epsilon));
  flags.add<double>(sub, "ccq", "--ccq-lr-scale", "lr_scale", "CCQ search learning rate = --lr x this",
                    fmt::format("{}", d.lr_scale));
  flags.add<int>(sub, "ccq", "--ccq-max-rounds", "max_rounds", "CCQ round limit (0 = none)",
                 fmt::format("{}", d.max_rounds));
  flags.add<int64_t>(sub, "ccq", "--ccq-val-images", "val_images", "CCQ validation images (0 = the whole hold-out)",
                     fmt::format("{}", d.val_images));
}

}  // namespace lowbit::app
