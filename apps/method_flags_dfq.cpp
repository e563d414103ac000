// Flags of --method dfq (differentiable bit-width search, quant/methods/dfq.h). The run's quantization flags
// give the scheme (dorefa), the fixed activation bits and the first/last policy; the weights' bits are searched.
#include "apps/method_flags.h"

namespace lowbit::app {

void add_dfq_flags(CLI::App& sub, MethodFlags& flags) {
  flags.add<int>(sub, "dfq", "--dfq-bmin", "b_min", "DFQ: lowest weight bit width searched (1..8)", "2");
  flags.add<int>(sub, "dfq", "--dfq-bmax", "b_max", "DFQ: highest weight bit width searched (1..8)", "8");
  flags.add<float>(sub, "dfq", "--dfq-init-bits", "init_bits", "DFQ: starting bit width beta (interpolation)",
                   "b_max");
  flags.add<std::string>(sub, "dfq", "--dfq-relaxation", "relaxation",
                         "DFQ: interpolate (beta between two integer widths) | softmax (DNAS over the widths)",
                         "interpolate");
  flags.add<int64_t>(sub, "dfq", "--dfq-group-channels", "group_channels",
                     "DFQ: output channels per bit-width group (0 = one width per layer)", "0");
  flags.add<float>(sub, "dfq", "--dfq-lambda", "lambda",
                   "DFQ: weight of the bit penalty (lambda*avgbits, or lambda*max(0, avgbits - target))",
                   "1 with a target, 0.05 without");
  flags.add<float>(sub, "dfq", "--dfq-target-bits", "target_bits",
                   "DFQ: target average weight bits (hinge penalty; 0 = no target)", "0");
  flags.add<int>(sub, "dfq", "--dfq-search-epochs", "search_epochs",
                 "DFQ: epochs of search; the remaining --epochs fine-tune at the discretised bits", "1");
  flags.add<std::string>(sub, "dfq", "--dfq-beta-optimizer", "beta_optimizer",
                         "DFQ: optimizer of the bit widths: sgd (plain gradient descent) | adam", "sgd");
  flags.add<float>(sub, "dfq", "--dfq-beta-lr", "beta_lr", "DFQ: learning rate of the bit widths", "0.05");
  flags.add<std::string>(sub, "dfq", "--dfq-discretize", "discretize", "DFQ: ceil | round of beta", "ceil");
  flags.add<std::string>(sub, "dfq", "--dfq-allocation", "allocation",
                         "DFQ: search | random (baseline: random widths at --dfq-target-bits, no search)", "search");
  flags.add<int>(sub, "dfq", "--dfq-log-every", "log_every", "DFQ: steps between rows of beta.csv", "50");
}

}  // namespace lowbit::app
