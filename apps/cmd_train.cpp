// lowbit train: training of a zoo model on a named data set — fp32, or quantization-aware with --quant (the
// quantized layers run on the low-bit kernels, quant/cli.h) — with per-epoch validation, metrics, checkpoints
// and resume (nn/train/trainer.h). Prints the final test accuracy on stdout.
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/error.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/cli.h"
#include "quant/training.h"

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
  nn::TrainConfig cfg = a.cfg;
  cfg.validate();
  const nn::DatasetInfo& info = nn::dataset_info(cfg.dataset);
  const std::string data_dir = resolve_data_dir(a.data_dir);
  const std::string out = a.out.empty() ? fmt::format("runs/{}_{}_seed{}", cfg.model, cfg.dataset, cfg.seed) : a.out;

  nn::ModelOptions mo;
  mo.in_channels = info.c;
  mo.height = info.h;
  mo.width = info.w;
  mo.num_classes = info.num_classes;
  mo.seed = cfg.seed;
  mo.dropout = cfg.dropout;
  std::vector<std::string> warnings;
  // Fails fast on an unknown model or a bad precision flag, before any data is read.
  std::shared_ptr<nn::Module> model = quant::build_quantized_model(cfg.model, mo, a.quant, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());

  nn::ImageDataset train = nn::load_dataset(cfg.dataset, "train", data_dir);
  const nn::ImageDataset test = nn::load_dataset(cfg.dataset, "test", data_dir);
  nn::ImageDataset holdout;
  std::string val_label = "test split";
  if (cfg.val_holdout > 0) {
    auto split = nn::split_holdout(train, cfg.val_holdout);
    train = std::move(split.first);
    holdout = std::move(split.second);
    val_label = fmt::format("hold-out: last {} training images", cfg.val_holdout);
  }
  const nn::ImageDataset& val = cfg.val_holdout > 0 ? holdout : test;

  nn::TrainerOptions to;
  to.out_dir = out;
  to.resume = a.resume;
  to.force = a.force;
  to.progress = nn::default_progress_mode(a.no_progress);
  to.log_every = a.log_every;
  to.validation_label = val_label;
  to.model_options = mo;
  if (a.quant.active()) {
    to.extra_meta["quant"] = quant::quant_flags_to_json(a.quant);
    nn::Module* m = model.get();
    // BNN's weight clamp and the re-pack of the kernels' weights after every step; PACT's α decay in the loss.
    to.hooks.after_step = [m](int64_t) { quant::after_optimizer_step(*m); };
    if (quant::regularization_loss(*m).defined())
      to.hooks.extra_loss = [m](const nn::Batch&, const Var&) { return quant::regularization_loss(*m); };
  }
  nn::Trainer trainer(*model, cfg, to);
  std::fprintf(stderr, "train %s on %s (%lld train / %lld val images; validation = %s) -> %s\n", cfg.model.c_str(),
               cfg.dataset.c_str(), static_cast<long long>(train.n), static_cast<long long>(val.n),
               val_label.c_str(), out.c_str());
  const nn::TrainResult r = trainer.fit(train, val);

  // The reported number is always measured on the official test split.
  const nn::EvalResult t =
      cfg.val_holdout > 0 || r.history.empty()
          ? nn::evaluate(*model, test, 256, info.mean, info.std)
          : nn::EvalResult{r.history.back().val_loss, r.history.back().val_acc, test.n};
  if (a.quant.active()) trainer.extra_results()["quant"] = to.extra_meta["quant"];
  trainer.extra_results()["test"] = {{"loss", t.loss}, {"acc", t.acc}, {"n", t.n},
                                     {"crc32", fmt::format("{:08x}", test.checksum)}};
  trainer.write_results();
  std::printf("test accuracy: %.2f%% (loss %.4f, %lld images; %s on %s, %d epoch%s, seed %llu) -> %s\n",
              100.0 * t.acc, t.loss, static_cast<long long>(t.n), cfg.model.c_str(), cfg.dataset.c_str(),
              cfg.epochs, cfg.epochs == 1 ? "" : "s", static_cast<unsigned long long>(cfg.seed), out.c_str());
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
