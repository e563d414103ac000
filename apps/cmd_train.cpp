// lowbit train: training of a zoo model on a named data set — fp32, or quantization-aware with --quant (the
// quantized layers run on the low-bit kernels, apps/quant_flags.h) — with per-epoch validation, metrics,
// checkpoints and resume (nn/train/trainer.h), through lab::run_training (the code path `lowbit reproduce`
// uses for every run). Prints the final test accuracy on stdout. The training config is validated once, by
// the library (nn::TrainConfig::validate, which names fields); its messages are given here with the flag names.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/method_flags.h"
#include "apps/quant_flags.h"
#include "engine/error.h"
#include "nn/train/config.h"
#include "lab/train_run.h"
#include "quant/methods/method.h"

namespace lowbit::app {

namespace {
struct TrainArgs {
  nn::TrainConfig cfg;
  std::string out, data_dir;
  bool no_progress = false, resume = false, force = false;
  int64_t log_every = 100;
  QuantFlags quant;
  std::string method, teacher;
  std::vector<std::string> search_from;
  MethodFlags method_flags;
};

// nn::TrainConfig field -> the flag that sets it.
constexpr std::pair<const char*, const char*> kConfigFlags[] = {
    {"model", "--model"},         {"dataset", "--dataset"},           {"epochs", "--epochs"},
    {"batch_size", "--batch"},    {"optimizer", "--optimizer"},       {"lr", "--lr"},
    {"momentum", "--momentum"},   {"weight_decay", "--weight-decay"}, {"schedule", "--schedule"},
    {"warmup_epochs", "--warmup"}, {"step_size", "--step-size"},      {"gamma", "--gamma"},
    {"label_smoothing", "--label-smoothing"}, {"seed", "--seed"},     {"threads", "--threads"},
    {"val_holdout", "--val-holdout"}, {"crop_padding", "--crop-padding"}, {"hflip", "--hflip"},
    {"dropout", "--dropout"}};

// The trainer's run-directory advice (nn/train/trainer.cpp) -> the same advice in flags.
constexpr std::pair<const char*, const char*> kTrainerPhrases[] = {
    {"resume it, overwrite it (force), or choose another output directory",
     "pass --resume to continue it, --force to overwrite it, or choose another --out"},
    {"try a lower learning rate (lr ", "try a lower --lr ("}};

// "training config: lr must be > 0 (got 0)" -> "--lr must be > 0 (got 0)", "kd.alpha must be ..." ->
// "--kd-alpha must be ...", the trainer's advice in flags; other messages unchanged.
std::string with_flag_names(std::string msg, const MethodFlags& method_flags) {
  for (const auto& [phrase, flags] : kTrainerPhrases)
    if (const size_t at = msg.find(phrase); at != std::string::npos)
      return msg.replace(at, std::string(phrase).size(), flags);
  if (std::string m = method_flags.with_flag_names(msg); m != msg) return m;
  const std::string prefix = nn::TrainConfig::kErrorPrefix;
  if (msg.rfind(prefix, 0) != 0) return msg;
  for (const auto& [field, flag] : kConfigFlags) {
    const std::string f = prefix + field + " ";
    if (msg.rfind(f, 0) == 0) return flag + msg.substr(prefix.size() + std::string(field).size());
  }
  return msg;
}

// --method/--teacher and the method's own flags (apps/method_flags_<name>.cpp) -> the run's method record
// {"name", "teacher", <settings given>} (quant/methods validates the values and fills the defaults); null for
// plain training.
nlohmann::json method_json(const TrainArgs& a) {
  nlohmann::json m = a.method_flags.settings_for(a.method);
  if (a.method.empty() || a.method == "none") {
    LOWBIT_CHECK(a.teacher.empty(), "--teacher needs a --method that uses one (e.g. --method kd)");
    return nullptr;
  }
  m["name"] = a.method;
  if (!a.teacher.empty()) m["teacher"] = a.teacher;
  return m;
}

// "kd (knowledge distillation: ...), ..., none" for --help.
std::string method_choices() {
  std::string s;
  for (const quant::MethodRow& r : quant::method_table()) s += fmt::format("{} ({}), ", r.name, r.summary);
  return s + "none";
}

int run_train(const TrainArgs& a) {
  lab::TrainRunSpec spec;
  spec.config = a.cfg;
  spec.quant = quant_spec_from_flags(a.quant);
  spec.init = a.quant.init;
  spec.method = method_json(a);
  spec.data_dir = resolve_data_dir(a.data_dir);
  spec.out_dir = a.out.empty() ? fmt::format("runs/{}_{}_seed{}", a.cfg.model, a.cfg.dataset, a.cfg.seed) : a.out;
  spec.resume = a.resume;
  spec.force = a.force;
  // --search-from RUN: the earlier run's search directory (<RUN>/<method>/); the method checks what fits.
  LOWBIT_CHECK(a.search_from.empty() || (!a.method.empty() && quant::make_method(a.method, nlohmann::json::object())->searches()),
               "--search-from needs a --method that searches a precision (ccq), got '{}'",
               a.method.empty() ? "none" : a.method);
  for (const std::string& d : a.search_from) {
    std::error_code ec;
    const std::filesystem::path state = std::filesystem::path(d) / a.method / "state.json";
    LOWBIT_CHECK(std::filesystem::exists(state, ec), "--search-from '{}': no {} search there (no '{}')", d, a.method,
                 state.string());
    spec.search_donors.push_back((std::filesystem::path(d) / a.method).string());
  }
  spec.progress = nn::default_progress_mode(a.no_progress);
  spec.log_every = a.log_every;
  spec.on_start = [](const std::string& what) { std::fprintf(stderr, "%s\n", what.c_str()); };
  lab::TrainRunResult r;
  try {
    r = lab::run_training(spec);
  } catch (const Error& e) {
    detail::throw_error(with_flag_names(e.what(), a.method_flags));
  }
  const nn::TrainConfig& cfg = spec.config;
  std::printf("test accuracy: %.2f%% (loss %.4f, %lld images; %s on %s, %d epoch%s, seed %llu) -> %s\n",
              100.0 * r.test_acc, r.test_loss, static_cast<long long>(r.test_n), cfg.model.c_str(),
              cfg.dataset.c_str(), cfg.epochs, cfg.epochs == 1 ? "" : "s", static_cast<unsigned long long>(cfg.seed),
              spec.out_dir.c_str());
  return 0;
}
}  // namespace

Command register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* s = app.add_subcommand("train", "Train a model (fp32, or QAT with --quant) on a data set; checkpoints every epoch");
  nn::TrainConfig& c = a->cfg;
  s->add_option("--model", c.model, "Model from the zoo (see `lowbit info`)")->capture_default_str();
  s->add_option("--dataset", c.dataset, "Data set")->check(CLI::IsMember(dataset_choices()))->capture_default_str();
  // Values are checked once, by nn::TrainConfig::validate (see with_flag_names).
  s->add_option("--epochs", c.epochs, "Epochs")->capture_default_str();
  s->add_option("--batch", c.batch_size, "Batch size")->capture_default_str();
  s->add_option("--optimizer", c.optimizer, "sgd | adam | adamw")->capture_default_str();
  s->add_option("--lr", c.lr, "Base learning rate")->capture_default_str();
  s->add_option("--momentum", c.momentum, "SGD momentum, in [0, 1)")->capture_default_str();
  s->add_flag("--nesterov", c.nesterov, "Nesterov momentum (SGD)");
  s->add_option("--schedule", c.schedule,
                "constant | step | cosine; the learning rate is set every step (cosine decays and warm-up ramps "
                "per step, step decays at epoch boundaries)")
      ->capture_default_str();
  s->add_option("--warmup", c.warmup_epochs, "Linear warm-up epochs")->capture_default_str();
  s->add_option("--step-size", c.step_size, "Step schedule: epochs between decays")->capture_default_str();
  s->add_option("--gamma", c.gamma, "Step schedule: decay factor")->capture_default_str();
  auto* wd = s->add_option("--weight-decay", c.weight_decay,
                           "Weight decay (default: 5e-4 for sgd and 0 for adam, both an L2 term in the gradient; "
                           "0.01 for adamw, decoupled)");
  s->add_option("--label-smoothing", c.label_smoothing, "Label smoothing epsilon")->capture_default_str();
  s->add_option("--dropout", c.dropout, "Dropout before the classifier (models that support it)")->capture_default_str();
  s->add_option("--seed", c.seed, "Seed: initialisation, data order, augmentation")->capture_default_str();
  s->add_option("--threads", c.threads, "Threads (0 = all cores)")->capture_default_str();
  s->add_option("--val-holdout", c.val_holdout,
                "Validate on the last N training images (held out of training) instead of the test split")
      ->capture_default_str();
  s->add_option("--crop-padding", c.crop_padding, "Random-crop padding (-1 = data set default)")->capture_default_str();
  s->add_option("--hflip", c.hflip, "Random horizontal flip: 1 on, 0 off, -1 data set default")->capture_default_str();
  s->add_option("--out", a->out, "Output directory (default runs/<model>_<dataset>_seed<seed>)");
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_option("--log-every", a->log_every, "Steps between log lines when no progress bar is shown")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))->capture_default_str();
  s->add_flag("--no-progress", a->no_progress, "Plain log lines instead of a progress bar");
  s->add_flag("--resume", a->resume, "Continue the run in --out from its last checkpoint");
  s->add_flag("--force", a->force, "Overwrite a different run in --out");
  add_quant_flags(*s, a->quant);
  s->add_option("--method", a->method, "Training method: " + method_choices());
  s->add_option("--teacher", a->teacher,
                "Teacher model file (model.lbar or checkpoint.lbar) for a method that uses one (kd, ...)");
  s->add_option("--search-from", a->search_from,
                "Earlier runs (their --out) whose saved search rounds a searching method (ccq) may start from: "
                "the same search with another target (comma-separated)")
      ->delimiter(',');
  add_method_flags(*s, a->method_flags);
  return {s, [a, wd] {
            if (wd->count() == 0) a->cfg.weight_decay = nn::TrainConfig::conventional_weight_decay(a->cfg.optimizer);
            return run_train(*a);
          }};
}

}  // namespace lowbit::app
