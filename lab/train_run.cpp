#include "lab/train_run.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "engine/error.h"
#include "lab/run_metrics.h"
#include "nn/archive.h"
#include "nn/init_load.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/training.h"

namespace lowbit::lab {

namespace {

// The model of a run and what its files record about how it was built.
struct RunModel {
  std::shared_ptr<nn::Module> model;
  nn::ModelOptions options;
  nlohmann::json quant_record;  // null for fp32
  nlohmann::json init_record;   // what --init loaded (nn::InitRecord); null without one
};

// fp32: the plain zoo model with the init model's weights (every tensor of the model from the file; a quantized
// init's extra keys are ignored); no quant code on this path. A checkpoint to resume must be an fp32 one too.
RunModel fp32_model(const std::string& name, const nn::ModelOptions& options, const std::string& init,
                    const std::string& resume_checkpoint) {
  std::error_code ec;
  const bool resuming = !resume_checkpoint.empty() && std::filesystem::exists(resume_checkpoint, ec);
  if (resuming) {
    const nlohmann::json extra = nn::read_archive(resume_checkpoint).meta.value("extra", nlohmann::json::object());
    LOWBIT_CHECK(!(extra.is_object() && extra.contains("quant")),
                 "cannot resume from '{}': the model was built differently (checkpoint quantized, now fp32)",
                 resume_checkpoint);
  }
  RunModel m{nn::make_model(name, options), options, nullptr, nullptr};
  if (!init.empty() && !resuming) m.init_record = nn::load_init(init, *m.model).to_json();
  return m;
}

// Quantized: quant::build_run_model (the precision resolved per layer, the init loaded; on resume the layers the
// checkpoint records).
RunModel quantized_model(const std::string& name, const nn::ModelOptions& options, const quant::QuantSpec& q,
                         const std::string& init, const std::string& resume_checkpoint) {
  std::vector<std::string> warnings;
  quant::BuiltModel b = quant::build_run_model(name, options, q, init, resume_checkpoint, &warnings);
  for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return {b.model, b.options, b.record, b.init};
}


// {"name": ..., "teacher": FILE, <settings>...} -> the method's spec; the settings are checked by its row.
quant::MethodSpec method_spec(const nlohmann::json& j) {
  LOWBIT_CHECK(j.is_object() && j.contains("name") && j.at("name").is_string(),
               "training method {}: needs a \"name\" (string)", j.dump());
  LOWBIT_CHECK(!j.contains("teacher") || j.at("teacher").is_string(), "training method {}: \"teacher\" must be a path",
               j.dump());
  quant::MethodSpec m;
  m.name = j.at("name").get<std::string>();
  m.teacher = j.value("teacher", "");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "name" && it.key() != "teacher") m.settings[it.key()] = it.value();
  return m;
}
}  // namespace

TrainRunResult run_training(const TrainRunSpec& spec) {
  const nn::TrainConfig& cfg = spec.config;
  cfg.validate();
  LOWBIT_CHECK(!spec.out_dir.empty(), "training run: no output directory given");
  LOWBIT_CHECK(spec.train_subset >= 0, "training subset must be >= 0, got {}", spec.train_subset);
  const nn::DatasetInfo& info = nn::dataset_info(cfg.dataset);

  nn::ModelOptions mo;
  mo.in_channels = info.c;
  mo.height = info.h;
  mo.width = info.w;
  mo.num_classes = info.num_classes;
  mo.seed = cfg.seed;
  mo.dropout = cfg.dropout;
  // Fails fast on an unknown model or a precision config that does not fit it, before any data is read.
  const std::string resume_checkpoint = spec.resume ? (std::filesystem::path(spec.out_dir) / "checkpoint.lbar").string() : "";
  // A search method (CCQ) finds the quantization first; the model below is then only its starting point, so a
  // checkpoint of its final fine-tune (built at the found quantization) is checked after the search.
  const bool searches = !spec.method.is_null() && quant::make_method(method_spec(spec.method).name,
                                                                     method_spec(spec.method).settings)->searches();
  RunModel built = spec.quant ? quantized_model(cfg.model, mo, *spec.quant, spec.init, searches ? "" : resume_checkpoint)
                              : fp32_model(cfg.model, mo, spec.init, resume_checkpoint);
  std::shared_ptr<nn::Module> model = built.model;
  // The training method and its teacher (loaded and checked against the model) also before any data is read.
  quant::PreparedMethod method;
  if (!spec.method.is_null())
    method = quant::prepare_method(method_spec(spec.method), *model, cfg.model, built.options,
                                   quant::build_model_from_meta);

  // Data: the caller's copies when given (no copy unless a subset or hold-out changes them), else loaded.
  nn::ImageDataset loaded_train, loaded_test, owned_train, holdout;
  const nn::ImageDataset* train = spec.train_data;
  const nn::ImageDataset* test = spec.test_data;
  if (!train) {
    loaded_train = nn::load_dataset(cfg.dataset, "train", spec.data_dir);
    train = &loaded_train;
  }
  if (!test) {
    loaded_test = nn::load_dataset(cfg.dataset, "test", spec.data_dir);
    test = &loaded_test;
  }
  if (spec.train_subset > 0 && spec.train_subset < train->n) {
    owned_train = train->slice(0, spec.train_subset, fmt::format("{}[0:{}]", train->name, spec.train_subset));
    train = &owned_train;
  }
  std::string val_label = "test split";
  if (cfg.val_holdout > 0) {
    auto split = nn::split_holdout(*train, cfg.val_holdout);
    owned_train = std::move(split.first);
    holdout = std::move(split.second);
    train = &owned_train;
    val_label = fmt::format("hold-out: last {} training images", cfg.val_holdout);
  }
  const nn::ImageDataset& val = cfg.val_holdout > 0 ? holdout : *test;

  // The search (quant/methods/method.h: Method::search) in <out>/<method>/, resumed with the run; then the run
  // trains (the final fine-tune) the model it found, from the searched weights.
  double search_seconds = 0.0;
  nlohmann::json search_metrics;
  bool resume = spec.resume;
  if (searches) {
    LOWBIT_CHECK(spec.quant, "training method '{}' searches a quantization: give the run one (--quant or "
                             "--precision-config)", method.method->name());
    quant::SearchContext sc;
    sc.config = cfg;
    sc.model = cfg.model;
    sc.options = mo;
    sc.quant = *spec.quant;
    sc.init = spec.init;
    sc.train = train;
    sc.val = &val;
    sc.val_is_holdout = cfg.val_holdout > 0;
    sc.dir = (std::filesystem::path(spec.out_dir) / method.method->name()).string();
    sc.resume = spec.resume;
    sc.donors = spec.search_donors;
    sc.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    const quant::SearchResult sr = method.method->search(sc);
    search_seconds = sr.seconds;
    search_metrics = sr.metrics;
    std::error_code ec;
    resume = spec.resume && std::filesystem::exists(resume_checkpoint, ec);
    built = quantized_model(cfg.model, mo, sr.quant, sr.init, resume ? resume_checkpoint : "");
    model = built.model;
  }

  nn::TrainerOptions to;
  to.out_dir = spec.out_dir;
  to.resume = resume;
  to.force = spec.force;
  to.progress = spec.progress;
  to.log_every = spec.log_every;
  to.validation_label = val_label;
  to.model_options = built.options;
  to.init = built.init_record;
  if (spec.quant) {
    to.extra_meta["quant"] = built.quant_record;
    nn::Module* m = model.get();
    // BNN's weight clamp and the re-pack of the kernels' weights after every step; PACT's α decay in the loss.
    to.hooks.after_step = [m](int64_t) { quant::after_optimizer_step(*m); };
    if (quant::regularization_loss(*m).defined())
      to.hooks.extra_loss = [m](const nn::Batch&, const Var&) { return quant::regularization_loss(*m); };
  }
  if (method.method) quant::attach_method(method, to);
  nn::Trainer trainer(*model, cfg, to);
  // Recorded from the first epoch's results.json on, so an interrupted run says what it was.
  if (spec.quant) trainer.extra_results()["quant"] = built.quant_record;
  if (searches) {  // the precision the search started from: what a grid cell names (lab/run_policy.h)
    nlohmann::json requested = spec.quant->to_json();
    requested["format"] = 2;
    trainer.extra_results()["requested_quant"] = requested;
  }
  if (spec.train_subset > 0) trainer.extra_results()["train_subset"] = spec.train_subset;
  for (auto it = spec.extra_results.begin(); it != spec.extra_results.end(); ++it)
    trainer.extra_results()[it.key()] = it.value();
  if (spec.on_start)
    spec.on_start(fmt::format("train {} on {} ({} train / {} val images; validation = {}) -> {}", cfg.model,
                              cfg.dataset, train->n, val.n, val_label, spec.out_dir));
  const nn::TrainResult r = trainer.fit(*train, val);

  // The reported number is always measured on the official test split (the last epoch's validation when that
  // was the test split, so no second pass).
  TrainRunResult out;
  for (const nn::EpochMetrics& e : r.history) out.wall_seconds += e.seconds;
  out.wall_seconds += search_seconds;  // a search method's wall time (over its resumed parts) counts too
  nn::EvalResult t;
  if (cfg.val_holdout > 0 || r.history.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    t = nn::evaluate(*model, *test, 256, info.mean, info.std);
    out.wall_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    t = nn::EvalResult{r.history.back().val_loss, r.history.back().val_acc, test->n};
  }
  trainer.extra_results()["test"] = {{"loss", t.loss}, {"acc", t.acc}, {"n", t.n},
                                     {"crc32", fmt::format("{:08x}", test->checksum)}};
  trainer.extra_results()["wall_seconds"] = out.wall_seconds;
  // Size, average bits, BitOPs and the per-layer bits of the trained model (lab/run_metrics.h); a model the
  // report cannot walk records why instead of failing a finished run.
  try {
    const nlohmann::json m = with_method_metrics(model_metrics(*model, Shape{info.c, info.h, info.w}),
                                                 method.method ? method.method->state() : nlohmann::json());
    trainer.extra_results()["metrics"] = m["metrics"];
    trainer.extra_results()["layer_bits"] = m["layer_bits"];
  } catch (const Error& e) {
    trainer.extra_results()["metrics_error"] = e.what();
  }
  if (searches) trainer.extra_results()["search"] = search_metrics;
  trainer.write_results();

  out.test_acc = t.acc;
  out.test_loss = t.loss;
  out.test_n = t.n;
  out.train_n = train->n;
  out.epochs = static_cast<int>(r.history.size());
  out.train_crc = train->checksum;
  out.test_crc = test->checksum;
  return out;
}

}  // namespace lowbit::lab
