// lowbit eval: accuracy and loss of a saved model (model.lbar or checkpoint.lbar) on a data set split.
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/error.h"
#include "engine/threading.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "quant/quantized_model.h"

namespace lowbit::app {

namespace {
struct EvalArgs {
  std::string checkpoint, dataset, split = "test", data_dir;
  int64_t batch = 256;
  int threads = 0;
};

int run_eval(const EvalArgs& a) {
  if (a.threads > 0) set_num_threads(a.threads);
  const nn::LoadedModel lm = nn::load_trained_model(a.checkpoint, "", quant::build_model_from_meta);
  std::string dataset = a.dataset;
  if (dataset.empty()) {
    const nlohmann::json& m = lm.meta;
    LOWBIT_CHECK(m.contains("config") && m["config"].contains("dataset"),
                 "'{}' does not record its data set: pass --dataset", a.checkpoint);
    dataset = m["config"]["dataset"].get<std::string>();
  }
  const nn::DatasetInfo& info = nn::dataset_info(dataset);
  const nn::ModelOptions& mo = lm.model_options;
  LOWBIT_CHECK(info.c == mo.in_channels && info.h == mo.height && info.w == mo.width && info.num_classes == mo.num_classes,
               "'{}' holds a {} for {}x{}x{} images and {} classes; data set '{}' has {}x{}x{} images and {} classes",
               a.checkpoint, lm.model_name, mo.in_channels, mo.height, mo.width, mo.num_classes, dataset, info.c,
               info.h, info.w, info.num_classes);
  const nn::ImageDataset data = nn::load_dataset(dataset, a.split, resolve_data_dir(a.data_dir));
  const nn::EvalResult r = nn::evaluate(*lm.model, data, a.batch, info.mean, info.std);
  std::printf("%s on %s: accuracy %.2f%% | loss %.4f | %lld images | crc32 %08x\n", lm.model_name.c_str(),
              data.name.c_str(), 100.0 * r.acc, r.loss, static_cast<long long>(r.n), data.checksum);
  return 0;
}
}  // namespace

Command register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* s = app.add_subcommand("eval", "Evaluate a saved model or checkpoint on a data set");
  s->add_option("--checkpoint", a->checkpoint, "model.lbar or checkpoint.lbar written by `lowbit train`")
      ->required()->check(CLI::ExistingFile);
  s->add_option("--dataset", a->dataset, "Data set (default: the one the model was trained on)")
      ->check(CLI::IsMember(dataset_choices()));
  s->add_option("--split", a->split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  s->add_option("--batch", a->batch, "Batch size")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
  s->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  return {s, [a] { return run_eval(*a); }};
}

}  // namespace lowbit::app
