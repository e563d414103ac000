#include "nn/train/config.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/threading.h"
#include "kernels/isa.h"
#include "nn/data/registry.h"
#include "lowbit_version.h"

namespace lowbit::nn {

namespace {
// A float as the double with the same shortest decimal form (0.05f -> 0.05, not 0.0500000007...), so JSON
// files read naturally; parsing it back as float gives the same float.
double tidy(float f) { return std::stod(fmt::format("{}", f)); }
}  // namespace

nlohmann::json TrainConfig::to_json() const {
  return {{"model", model},       {"dataset", dataset},         {"epochs", epochs},
          {"batch_size", batch_size}, {"optimizer", optimizer}, {"lr", tidy(lr)},
          {"momentum", tidy(momentum)}, {"nesterov", nesterov},       {"weight_decay", tidy(weight_decay)},
          {"schedule", schedule}, {"warmup_epochs", tidy(warmup_epochs)}, {"step_size", tidy(step_size)},
          {"gamma", tidy(gamma)},       {"label_smoothing", tidy(label_smoothing)}, {"seed", seed},
          {"threads", threads},   {"val_holdout", val_holdout}, {"crop_padding", crop_padding},
          {"hflip", hflip},       {"dropout", tidy(dropout)}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.model = j.at("model").get<std::string>();
    c.dataset = j.at("dataset").get<std::string>();
    c.epochs = j.at("epochs").get<int>();
    c.batch_size = j.at("batch_size").get<int64_t>();
    c.optimizer = j.at("optimizer").get<std::string>();
    c.lr = j.at("lr").get<float>();
    c.momentum = j.at("momentum").get<float>();
    c.nesterov = j.at("nesterov").get<bool>();
    c.weight_decay = j.at("weight_decay").get<float>();
    c.schedule = j.at("schedule").get<std::string>();
    c.warmup_epochs = j.at("warmup_epochs").get<float>();
    c.step_size = j.at("step_size").get<float>();
    c.gamma = j.at("gamma").get<float>();
    c.label_smoothing = j.at("label_smoothing").get<float>();
    c.seed = j.at("seed").get<uint64_t>();
    c.threads = j.at("threads").get<int>();
    c.val_holdout = j.at("val_holdout").get<int64_t>();
    c.crop_padding = j.at("crop_padding").get<int>();
    c.hflip = j.at("hflip").get<int>();
    c.dropout = j.at("dropout").get<float>();
  } catch (const nlohmann::json::exception& e) {
    lowbit::detail::throw_error(fmt::format("training config: {}", e.what()));
  }
  return c;
}

float TrainConfig::conventional_weight_decay(const std::string& optimizer) {
  if (optimizer == "adam") return 0.0f;
  if (optimizer == "adamw") return 0.01f;
  return 5e-4f;
}

void TrainConfig::resolve_augmentation() {
  bool usual = false;  // the data set's usual augmentation: random crop 4 + flip (CIFAR-10)
  for (const std::string& n : dataset_names())
    if (n == dataset) usual = dataset_info(n).augment_crop_flip;
  if (crop_padding < 0) crop_padding = usual ? 4 : 0;
  if (hflip < 0) hflip = usual ? 1 : 0;
}

void TrainConfig::validate() const {
#define LOWBIT_CHECK_FIELD(cond, ...) LOWBIT_CHECK(cond, "{}{}", kErrorPrefix, fmt::format(__VA_ARGS__))
  LOWBIT_CHECK_FIELD(!model.empty(), "model must be named");
  LOWBIT_CHECK_FIELD(!dataset.empty(), "dataset must be named");
  LOWBIT_CHECK_FIELD(epochs >= 1, "epochs must be ≥ 1 (got {})", epochs);
  LOWBIT_CHECK_FIELD(batch_size >= 1 && batch_size <= (int64_t{1} << 20), "batch_size must be in 1..2^20 (got {})",
                     batch_size);
  LOWBIT_CHECK_FIELD(optimizer == "sgd" || optimizer == "adam" || optimizer == "adamw",
                     "optimizer must be sgd, adam or adamw (got '{}')", optimizer);
  LOWBIT_CHECK_FIELD(std::isfinite(lr) && lr > 0, "lr must be a finite number > 0 (got {})", lr);
  LOWBIT_CHECK_FIELD(momentum >= 0 && momentum < 1, "momentum must be in [0, 1) (got {})", momentum);
  LOWBIT_CHECK_FIELD(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay must be a finite number ≥ 0 (got {})",
                     weight_decay);
  LOWBIT_CHECK_FIELD(schedule == "constant" || schedule == "step" || schedule == "cosine",
                     "schedule must be constant, step or cosine (got '{}')", schedule);
  LOWBIT_CHECK_FIELD(warmup_epochs >= 0 && warmup_epochs < static_cast<float>(epochs),
                     "warmup_epochs must be in [0, epochs) (got {} with {} epochs)", warmup_epochs, epochs);
  LOWBIT_CHECK_FIELD(std::isfinite(step_size) && step_size > 0, "step_size must be a finite number > 0 (got {})",
                     step_size);
  LOWBIT_CHECK_FIELD(std::isfinite(gamma) && gamma > 0, "gamma must be a finite number > 0 (got {})", gamma);
  LOWBIT_CHECK_FIELD(label_smoothing >= 0 && label_smoothing < 1, "label_smoothing must be in [0, 1) (got {})",
                     label_smoothing);
  LOWBIT_CHECK_FIELD(threads >= 0 && threads <= 1024, "threads must be in 0..1024 (got {})", threads);
  LOWBIT_CHECK_FIELD(val_holdout >= 0, "val_holdout must be ≥ 0 (got {})", val_holdout);
  LOWBIT_CHECK_FIELD(crop_padding >= -1 && crop_padding <= 1024, "crop_padding must be in −1..1024 (got {})",
                     crop_padding);
  LOWBIT_CHECK_FIELD(hflip >= -1 && hflip <= 1, "hflip must be −1, 0 or 1 (got {})", hflip);
  LOWBIT_CHECK_FIELD(dropout >= 0 && dropout < 1, "dropout must be in [0, 1) (got {})", dropout);
#undef LOWBIT_CHECK_FIELD
}

LrSchedule TrainConfig::lr_schedule() const {
  LrSchedule s;
  s.kind = schedule == "step"     ? LrSchedule::Kind::step
           : schedule == "cosine" ? LrSchedule::Kind::cosine
                                  : LrSchedule::Kind::constant;
  s.base_lr = lr;
  s.warmup_epochs = warmup_epochs;
  s.step_size = step_size;
  s.gamma = gamma;
  s.total_epochs = static_cast<float>(epochs);
  return s;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<Var> params) {
  if (c.optimizer == "sgd") {
    SgdOptions o;
    o.lr = c.lr;
    o.momentum = c.momentum;
    o.nesterov = c.nesterov;
    o.weight_decay = c.weight_decay;
    return std::make_unique<Sgd>(std::move(params), o);
  }
  LOWBIT_CHECK(c.optimizer == "adam" || c.optimizer == "adamw", "unknown optimizer '{}' (use sgd, adam or adamw)",
               c.optimizer);
  AdamOptions o;
  o.lr = c.lr;
  o.weight_decay = c.weight_decay;
  o.decoupled = c.optimizer == "adamw";
  return std::make_unique<Adam>(std::move(params), o);
}

nlohmann::json build_info() {
  return {{"version", LOWBIT_VERSION},
          {"git_revision", LOWBIT_GIT_REVISION},
          {"compiler", LOWBIT_COMPILER},
          {"build_type", LOWBIT_BUILD_TYPE},
          {"processor", LOWBIT_SYSTEM_PROCESSOR},
          {"isa", kernels::isa_name(kernels::active_isa())},
          {"threads", num_threads()}};
}

}  // namespace lowbit::nn
