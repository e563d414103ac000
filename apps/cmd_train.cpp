// lowbit train: training of a zoo model on a named data set — fp32, or quantization-aware with --quant (the
// quantized layers run on the low-bit kernels, quant/cli.h) — with per-epoch validation, metrics, checkpoints
// and resume (nn/train/trainer.h), through quant::run_training (the code path `lowbit reproduce` uses for every
// run). Prints the final test accuracy on stdout.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "nn/train/config.h"
#include "quant/cli.h"
#include "quant/reproduce/train_run.h"

namespace lowbit::app {

namespace {
struct TrainArgs {
  nn::TrainConfig cfg;
  std::string out, data_dir;
  bool no_progress = false, resume = false, force = false;
  int64_t log_every = 100;
  quant::QuantFlags quant;
};

int run_train(const TrainArgs& a) {
  quant::TrainRunSpec spec;
  spec.config = a.cfg;
  spec.quant = a.quant;
  spec.data_dir = resolve_data_dir(a.data_dir);
  spec.out_dir = a.out.empty() ? fmt::format("runs/{}_{}_seed{}", a.cfg.model, a.cfg.dataset, a.cfg.seed) : a.out;
  spec.resume = a.resume;
  spec.force = a.force;
  spec.progress = nn::default_progress_mode(a.no_progress);
  spec.log_every = a.log_every;
  spec.on_start = [](const std::string& what) { std::fprintf(stderr, "%s\n", what.c_str()); };
  const quant::TrainRunResult r = quant::run_training(spec);
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
  s->add_option("--epochs", c.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  s->add_option("--batch", c.batch_size, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
  s->add_option("--optimizer", c.optimizer, "sgd | adam | adamw")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))->capture_default_str();
  s->add_option("--lr", c.lr, "Base learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  s->add_option("--momentum", c.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999999))->capture_default_str();
  s->add_flag("--nesterov", c.nesterov, "Nesterov momentum (SGD)");
  s->add_option("--schedule", c.schedule, "constant | step | cosine")
      ->check(CLI::IsMember({"constant", "step", "cosine"}))->capture_default_str();
  s->add_option("--warmup", c.warmup_epochs, "Linear warm-up epochs")->check(CLI::NonNegativeNumber)->capture_default_str();
  s->add_option("--step-size", c.step_size, "Step schedule: epochs between decays")->capture_default_str();
  s->add_option("--gamma", c.gamma, "Step schedule: decay factor")->capture_default_str();
  s->add_option("--weight-decay", c.weight_decay, "L2 weight decay (decoupled for adamw)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  s->add_option("--label-smoothing", c.label_smoothing, "Label smoothing epsilon")->capture_default_str();
  s->add_option("--dropout", c.dropout, "Dropout before the classifier (models that support it)")->capture_default_str();
  s->add_option("--seed", c.seed, "Seed: initialisation, data order, augmentation")->capture_default_str();
  s->add_option("--threads", c.threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  s->add_option("--val-holdout", c.val_holdout,
                "Validate on the last N training images (held out of training) instead of the test split")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  s->add_option("--crop-padding", c.crop_padding, "Random-crop padding (-1 = data set default)")->capture_default_str();
  s->add_option("--hflip", c.hflip, "Random horizontal flip: 1 on, 0 off, -1 data set default")
      ->check(CLI::Range(-1, 1))->capture_default_str();
  s->add_option("--out", a->out, "Output directory (default runs/<model>_<dataset>_seed<seed>)");
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_option("--log-every", a->log_every, "Steps between log lines when no progress bar is shown")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  s->add_flag("--no-progress", a->no_progress, "Plain log lines instead of a progress bar");
  s->add_flag("--resume", a->resume, "Continue the run in --out from its last checkpoint");
  s->add_flag("--force", a->force, "Overwrite a different run in --out");
  quant::add_quant_flags(*s, a->quant);
  return {s, [a] { return run_train(*a); }};
}

}  // namespace lowbit::app
