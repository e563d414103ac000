#include "nn/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/layers/dropout.h"

namespace lowbit::nn {

namespace fs = std::filesystem;

namespace {
constexpr const char* kCheckpointKind = "lowbit-checkpoint";
const char* const kRunFiles[] = {"checkpoint.lbar", "model.lbar", "metrics.csv", "results.json"};

int64_t count_correct(const Tensor& logits, const std::vector<int32_t>& labels) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * c;
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k)
      if (row[k] > row[best]) best = k;
    correct += best == labels[i];
  }
  return correct;
}

void write_text_atomic(const fs::path& p, const std::string& s) { write_file_atomic(p.string(), s.data(), s.size()); }

// Normalisation of a config's data set (unknown names, i.e. synthetic test data, get none) and its augmentation,
// which the trainer's config holds resolved (TrainConfig::resolve_augmentation).
struct DataPrep {
  std::vector<float> mean, std;
  int crop = 0;
  bool flip = false;
};
DataPrep data_prep(const TrainConfig& c, int channels) {
  DataPrep p;
  for (const std::string& n : dataset_names())
    if (n == c.dataset) {
      const DatasetInfo& info = dataset_info(n);
      if (static_cast<int>(info.mean.size()) == channels) {
        p.mean = info.mean;
        p.std = info.std;
      }
    }
  TrainConfig resolved = c;
  resolved.resolve_augmentation();
  p.crop = resolved.crop_padding;
  p.flip = resolved.hflip != 0;
  return p;
}

// Dropout layers own random streams; their states go into the checkpoint so resume stays bit-exact.
std::vector<std::pair<std::string, Dropout*>> dropouts(Module& m) {
  std::vector<std::pair<std::string, Dropout*>> out;
  for (auto& [name, mod] : m.named_modules())
    if (auto* d = dynamic_cast<Dropout*>(mod)) out.emplace_back(name, d);
  return out;
}
}  // namespace

// ---- metrics ----

nlohmann::json EpochMetrics::to_json() const {
  return {{"epoch", epoch},         {"lr", lr},         {"train_loss", train_loss}, {"train_acc", train_acc},
          {"val_loss", val_loss}, {"val_acc", val_acc}, {"seconds", seconds}};
}

EpochMetrics EpochMetrics::from_json(const nlohmann::json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch").get<int>();
  m.lr = j.at("lr").get<double>();
  m.train_loss = j.at("train_loss").get<double>();
  m.train_acc = j.at("train_acc").get<double>();
  m.val_loss = j.at("val_loss").get<double>();
  m.val_acc = j.at("val_acc").get<double>();
  m.seconds = j.at("seconds").get<double>();
  return m;
}

nlohmann::json model_options_to_json(const ModelOptions& o) {
  return {{"in_channels", o.in_channels}, {"height", o.height}, {"width", o.width},
          {"num_classes", o.num_classes}, {"activation", activation_name(o.activation)},
          {"seed", o.seed},               {"dropout", std::stod(fmt::format("{}", o.dropout))}};
}

ModelOptions model_options_from_json(const nlohmann::json& j, const std::string& source) {
  const std::string where = source.empty() ? "model options" : fmt::format("'{}': model options", source);
  ModelOptions o;
  try {
    o.in_channels = j.at("in_channels").get<int>();
    o.height = j.at("height").get<int>();
    o.width = j.at("width").get<int>();
    o.num_classes = j.at("num_classes").get<int>();
    o.activation = parse_activation(j.at("activation").get<std::string>());
    o.seed = j.at("seed").get<uint64_t>();
    o.dropout = j.at("dropout").get<float>();
  } catch (const nlohmann::json::exception& e) {
    lowbit::detail::throw_error(fmt::format("{}: {}", where, e.what()));
  }
  // Recorded sizes are used to allocate and index: bound them before use (a crafted file could hold INT_MAX).
  constexpr int kMaxSide = 4096, kMaxChannels = 4096, kMaxClasses = 100000;
  LOWBIT_CHECK(o.in_channels >= 1 && o.in_channels <= kMaxChannels, "{}: in_channels must be in 1..{}, got {}", where,
               kMaxChannels, o.in_channels);
  LOWBIT_CHECK(o.height >= 1 && o.height <= kMaxSide, "{}: height must be in 1..{}, got {}", where, kMaxSide, o.height);
  LOWBIT_CHECK(o.width >= 1 && o.width <= kMaxSide, "{}: width must be in 1..{}, got {}", where, kMaxSide, o.width);
  LOWBIT_CHECK(o.num_classes >= 1 && o.num_classes <= kMaxClasses, "{}: num_classes must be in 1..{}, got {}", where,
               kMaxClasses, o.num_classes);
  LOWBIT_CHECK(o.dropout >= 0 && o.dropout < 1, "{}: dropout must be in [0, 1), got {}", where, o.dropout);
  return o;
}

// ---- evaluation ----

EvalResult evaluate(Module& model, const ImageDataset& data, int64_t batch_size, const std::vector<float>& mean,
                    const std::vector<float>& std) {
  LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.shuffle = false;
  lo.mean = mean;
  lo.std = std;
  lo.prefetch = 1;
  // The loader needs shared ownership; alias the caller's data set without copying it.
  DataLoader loader(std::shared_ptr<const ImageDataset>(std::shared_ptr<const ImageDataset>(), &data), lo);
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0;
  loader.start_epoch(0);
  Batch b;
  while (loader.next(b)) {
    const Var logits = model(Var(b.images));
    const double l = cross_entropy(logits, b.labels).value().item();
    loss_sum += l * static_cast<double>(b.labels.size());
    correct += count_correct(logits.value(), b.labels);
    r.n += static_cast<int64_t>(b.labels.size());
  }
  model.train(was_training);
  r.loss = loss_sum / static_cast<double>(r.n);
  r.acc = static_cast<double>(correct) / static_cast<double>(r.n);
  return r;
}

// ---- trainer ----

Trainer::Trainer(Module& model, TrainConfig config, TrainerOptions options)
    : model_(model), config_(std::move(config)), opt_(std::move(options)) {
  config_.validate();
  config_.resolve_augmentation();  // recorded as the values used, never "the data set's default"
  if (config_.threads > 0) set_num_threads(config_.threads);
  optimizer_ = make_optimizer(config_, model_.parameters());
  LOWBIT_CHECK(opt_.teacher != &model_, "trainer: the teacher is the trained model itself");
  LOWBIT_CHECK(opt_.teacher || opt_.teacher_taps.empty(), "trainer: teacher taps given without a teacher");
  taps_ = std::make_unique<FeatureTaps>(model_, opt_.taps, TapMode::training);
  teacher_taps_ = opt_.teacher ? std::make_unique<FeatureTaps>(*opt_.teacher, opt_.teacher_taps, TapMode::always)
                               : std::make_unique<FeatureTaps>();
}

Trainer::~Trainer() = default;

void Trainer::prepare_out_dir() const {
  if (opt_.out_dir.empty()) return;
  const fs::path dir(opt_.out_dir);
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    LOWBIT_CHECK(fs::is_directory(dir, ec), "output directory '{}' exists and is not a directory", dir.string());
  } else {
    fs::create_directories(dir, ec);
    LOWBIT_CHECK(!ec, "cannot create output directory '{}': {}", dir.string(), ec.message());
  }
  remove_stale_temp_files(dir.string());  // checkpoint writes of a killed earlier run
  if (opt_.resume) {
    LOWBIT_CHECK(fs::exists(dir / "checkpoint.lbar", ec), "cannot resume: no checkpoint.lbar in '{}'",
                 dir.string());
    return;
  }
  if (opt_.force) return;
  for (const char* f : kRunFiles)
    LOWBIT_CHECK(!fs::exists(dir / f, ec),
                 "output directory '{}' already holds a run ({} exists): resume it, overwrite it (force), or choose "
                 "another output directory",
                 dir.string(), f);
}

int Trainer::load_checkpoint() {
  const fs::path path = fs::path(opt_.out_dir) / "checkpoint.lbar";
  const Archive ar = read_archive(path.string());
  const nlohmann::json& m = ar.meta;
  LOWBIT_CHECK(m.value("kind", "") == kCheckpointKind, "'{}' is not a lowbit training checkpoint", path.string());
  const std::string model = m.value("model", "");
  LOWBIT_CHECK(model == config_.model, "cannot resume: checkpoint '{}' is of model '{}', this run trains '{}'",
               path.string(), model, config_.model);
  // Everything that shapes the run must match; only the epoch count may grow.
  TrainConfig saved = TrainConfig::from_json(m.at("config"));
  saved.resolve_augmentation();  // a checkpoint of an older lowbit may record −1 (the data set's default)
  nlohmann::json a = saved.to_json(), b = config_.to_json();
  a.erase("epochs");
  b.erase("epochs");
  a.erase("threads");
  b.erase("threads");
  std::string diffs;
  for (auto it = a.begin(); it != a.end(); ++it)
    if (b.at(it.key()) != it.value())
      diffs += fmt::format(" {} (checkpoint {}, now {})", it.key(), it.value().dump(), b.at(it.key()).dump());
  LOWBIT_CHECK(diffs.empty(), "cannot resume from '{}': the configuration differs:{}", path.string(), diffs);
  if (opt_.hooks.on_resume) {
    opt_.hooks.on_resume(m);
  } else {
    const nlohmann::json saved_method = m.value("method", nlohmann::json::object());
    LOWBIT_CHECK(saved_method == opt_.method, "cannot resume from '{}': it was trained with method {}, this run uses {}",
                 path.string(), saved_method.empty() ? "none" : saved_method.dump(),
                 opt_.method.empty() ? "none" : opt_.method.dump());
  }
  const nlohmann::json saved_extra = m.value("extra", nlohmann::json::object());
  LOWBIT_CHECK(saved_extra == opt_.extra_meta, "cannot resume from '{}': the model was built differently (checkpoint {}, now {})",
               path.string(), saved_extra.dump(), opt_.extra_meta.dump());
  if (saved.threads != config_.threads)
    std::fprintf(stderr, "warning: checkpoint was trained with %d threads, now %d: results stay valid but are not "
                 "bit-identical to an uninterrupted run\n", saved.threads, config_.threads);
  if (saved.epochs != config_.epochs && config_.schedule != "constant")
    std::fprintf(stderr, "warning: epochs changed from %d to %d: the %s schedule is stretched from here on\n",
                 saved.epochs, config_.epochs, config_.schedule.c_str());

  // The data must be the data the checkpoint was trained on: the same images in the same order, or the
  // records would claim this data's checksums for epochs trained on other data.
  if (m.contains("dataset")) {
    const nlohmann::json& was = m["dataset"];
    for (const char* split : {"train", "val"}) {
      const nlohmann::json w = was.value(split, nlohmann::json::object()), n = dataset_info_.at(split);
      LOWBIT_CHECK(w.value("crc32", std::string()) == n.at("crc32") && w.value("n", int64_t{-1}) == n.at("n"),
                   "cannot resume from '{}': its {} data differs from this run's ({} images, crc32 {} in the "
                   "checkpoint; {} images, crc32 {} now)",
                   path.string(), split, w.value("n", int64_t{-1}), w.value("crc32", std::string("?")),
                   n.at("n").get<int64_t>(), n.at("crc32").get<std::string>());
    }
  }
  const int trained = m.at("epoch").get<int>();
  LOWBIT_CHECK(trained <= config_.epochs,
               "cannot resume from '{}': it has already trained {} epochs, more than the {} asked for now (ask for "
               "at least {} epochs, or start a new run)",
               path.string(), trained, config_.epochs, trained);

  model_.load_state_dict(ar.with_prefix("model."), true);
  optimizer_->load_state(ar.with_prefix("optim."));
  if (opt_.init.is_null() && m.contains("init")) opt_.init = m["init"];
  const nlohmann::json rng = m.value("rng", nlohmann::json::object());
  for (auto& [name, d] : dropouts(model_)) {
    LOWBIT_CHECK(rng.contains(name), "checkpoint '{}' lacks the RNG state of dropout layer '{}'", path.string(), name);
    d->rng().set_state(rng.at(name).get<std::vector<uint64_t>>());
  }
  history_.clear();
  for (const auto& e : m.at("history")) history_.push_back(EpochMetrics::from_json(e));
  const int done = m.at("epoch").get<int>();
  LOWBIT_CHECK(done >= 0 && static_cast<size_t>(done) == history_.size(),
               "checkpoint '{}' is inconsistent: epoch {} with {} history rows", path.string(), done, history_.size());
  return done;
}

void Trainer::save_checkpoint(int epochs_done) const {
  std::vector<NamedTensor> tensors;
  for (auto& [name, t] : model_.state_dict()) tensors.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer_->state()) tensors.emplace_back("optim." + name, t);
  nlohmann::json rng = nlohmann::json::object();
  for (auto& [name, d] : dropouts(model_)) rng[name] = d->rng().state();
  nlohmann::json hist = nlohmann::json::array();
  for (const EpochMetrics& e : history_) hist.push_back(e.to_json());
  nlohmann::json meta = {{"kind", kCheckpointKind},
                               {"model", config_.model},
                               {"model_options", model_options_to_json(opt_.model_options)},
                               {"epoch", epochs_done},
                               {"config", config_.to_json()},
                               {"dataset", dataset_info_},
                               {"rng", rng},
                               {"history", hist},
                               {"build", build_info()}};
  if (!opt_.extra_meta.empty()) meta["extra"] = opt_.extra_meta;
  if (!opt_.method.empty()) meta["method"] = opt_.method;
  if (!opt_.init.is_null()) meta["init"] = opt_.init;
  if (opt_.hooks.checkpoint_state) meta["method_state"] = opt_.hooks.checkpoint_state();
  write_archive((fs::path(opt_.out_dir) / "checkpoint.lbar").string(), meta, tensors);
}

void Trainer::write_metrics_csv() const {
  std::string csv = "epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds\n";
  for (const EpochMetrics& e : history_)
    csv += fmt::format("{},{:.6g},{:.6f},{:.6f},{:.6f},{:.6f},{:.3f}\n", e.epoch, e.lr, e.train_loss, e.train_acc,
                       e.val_loss, e.val_acc, e.seconds);
  write_text_atomic(fs::path(opt_.out_dir) / "metrics.csv", csv);
}

void Trainer::write_results() const {
  if (opt_.out_dir.empty()) return;
  nlohmann::json hist = nlohmann::json::array();
  for (const EpochMetrics& e : history_) hist.push_back(e.to_json());
  nlohmann::json r = {{"build", build_info()},
                      {"seed", config_.seed},
                      {"config", config_.to_json()},
                      {"model_options", model_options_to_json(opt_.model_options)},
                      {"dataset", dataset_info_},
                      {"validation", opt_.validation_label},
                      {"epochs", hist}};
  if (!opt_.method.empty()) r["method"] = opt_.method;
  if (!opt_.init.is_null()) r["init"] = opt_.init;
  if (!history_.empty()) r["final"] = history_.back().to_json();
  for (auto it = extra_.begin(); it != extra_.end(); ++it) r[it.key()] = it.value();
  write_text_atomic(fs::path(opt_.out_dir) / "results.json", r.dump(2) + "\n");
}

EpochMetrics Trainer::train_epoch(DataLoader& loader, int epoch, int64_t& global_step) {
  model_.train();
  loader.start_epoch(epoch);
  const int64_t nb = loader.num_batches();
  const LrSchedule sched = config_.lr_schedule();
  Progress progress(opt_.progress, fmt::format("epoch {}/{}", epoch + 1, config_.epochs), nb, opt_.log_every);
  EpochMetrics m;
  m.epoch = epoch + 1;
  m.lr = sched.at(static_cast<float>(epoch));
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, step = 0;
  Batch b;
  while (loader.next(b)) {
    optimizer_->set_lr(sched.at(static_cast<float>(epoch) + static_cast<float>(step) / static_cast<float>(nb)));
    optimizer_->zero_grad();
    taps_->clear();
    teacher_taps_->clear();
    Var teacher_logits;
    if (opt_.teacher) {
      NoGradGuard no_grad;
      teacher_logits = (*opt_.teacher)(Var(b.images));
    }
    Var logits;
    if (opt_.hooks.forward) logits = opt_.hooks.forward(b, teacher_logits, *teacher_taps_);
    if (!logits.defined()) logits = model_(Var(b.images));
    Var loss = opt_.hooks.loss ? opt_.hooks.loss(StepInputs{b, logits, *taps_, teacher_logits, *teacher_taps_,
                                                            config_.label_smoothing, global_step})
                               : cross_entropy(logits, b.labels, config_.label_smoothing);
    if (opt_.hooks.extra_loss) loss = loss + opt_.hooks.extra_loss(b, logits);
    const float lv = loss.value().item();
    if (!std::isfinite(lv)) {
      progress.finish();
      lowbit::detail::throw_error(fmt::format(
          "training diverged: the loss is {} at epoch {}, step {}/{} (global step {}); try a lower learning rate (lr {:g})",
          lv, epoch + 1, step + 1, nb, global_step + 1, optimizer_->lr()));
    }
    loss.backward();
    taps_->clear();  // the captured values hold the step's graph
    teacher_taps_->clear();
    optimizer_->step();
    ++global_step;
    if (opt_.hooks.after_step) opt_.hooks.after_step(global_step);
    const int64_t bs = static_cast<int64_t>(b.labels.size());
    loss_sum += static_cast<double>(lv) * bs;
    correct += count_correct(logits.value(), b.labels);
    seen += bs;
    ++step;
    progress.update(step, loss_sum / seen, static_cast<double>(correct) / seen);
  }
  progress.finish();
  m.train_loss = loss_sum / seen;
  m.train_acc = static_cast<double>(correct) / seen;
  return m;
}

TrainResult Trainer::fit(const ImageDataset& train, const ImageDataset& val) {
  prepare_out_dir();
  dataset_info_ = {{"name", config_.dataset},
                   {"train", {{"name", train.name}, {"n", train.n}, {"crc32", fmt::format("{:08x}", train.checksum)}}},
                   {"val", {{"name", val.name}, {"n", val.n}, {"crc32", fmt::format("{:08x}", val.checksum)}}},
                   {"validation", opt_.validation_label}};
  TrainResult result;
  if (opt_.resume) result.start_epoch = load_checkpoint();
  if (opt_.teacher) {
    opt_.teacher->eval();
    opt_.teacher->set_requires_grad(false);
  }

  const DataPrep prep = data_prep(config_, train.c);
  LOWBIT_CHECK(prep.crop < std::min(train.h, train.w),
               "{}crop_padding must be smaller than the images ({}x{}), got {}: the crops would hold only padding",
               TrainConfig::kErrorPrefix, train.h, train.w, prep.crop);
  LoaderOptions lo;
  lo.batch_size = config_.batch_size;
  lo.seed = config_.seed;
  lo.mean = prep.mean;
  lo.std = prep.std;
  lo.crop_padding = prep.crop;
  lo.hflip = prep.flip;
  lo.prefetch = opt_.prefetch;
  DataLoader loader(std::shared_ptr<const ImageDataset>(std::shared_ptr<const ImageDataset>(), &train), lo);
  int64_t global_step = static_cast<int64_t>(result.start_epoch) * loader.num_batches();

  for (int epoch = result.start_epoch; epoch < config_.epochs; ++epoch) {
    if (opt_.hooks.before_epoch) opt_.hooks.before_epoch(epoch);
    const auto t0 = std::chrono::steady_clock::now();
    EpochMetrics m = train_epoch(loader, epoch, global_step);
    const EvalResult v = evaluate(model_, val, std::max<int64_t>(config_.batch_size, 256), prep.mean, prep.std);
    m.val_loss = v.loss;
    m.val_acc = v.acc;
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    LOWBIT_CHECK(std::isfinite(m.val_loss), "training diverged: validation loss is {} after epoch {}", m.val_loss,
                 epoch + 1);
    history_.push_back(m);
    if (opt_.progress != ProgressMode::quiet)
      std::fprintf(stderr, "epoch %d/%d | lr %.4g | train loss %.4f acc %.2f%% | val loss %.4f acc %.2f%% (%s) | %s\n",
                   m.epoch, config_.epochs, m.lr, m.train_loss, 100 * m.train_acc, m.val_loss, 100 * m.val_acc,
                   opt_.validation_label.c_str(), format_duration(m.seconds).c_str());
    if (!opt_.out_dir.empty()) {
      save_checkpoint(epoch + 1);
      write_metrics_csv();
      write_results();
    }
    if (opt_.hooks.after_epoch) opt_.hooks.after_epoch(m);
  }
  if (!opt_.out_dir.empty()) {
    nlohmann::json meta = {{"model", config_.model},
                           {"model_options", model_options_to_json(opt_.model_options)},
                           {"config", config_.to_json()},
                           {"epochs_trained", static_cast<int>(history_.size())},
                           {"dataset", dataset_info_},
                           {"build", build_info()}};
    if (!opt_.extra_meta.empty()) meta["extra"] = opt_.extra_meta;
    if (!opt_.method.empty()) meta["method"] = opt_.method;
    if (!opt_.init.is_null()) meta["init"] = opt_.init;
    if (!history_.empty()) meta["final"] = history_.back().to_json();  // what `lowbit info` shows
    if (opt_.hooks.model_meta) opt_.hooks.model_meta(meta);
    save_module((fs::path(opt_.out_dir) / "model.lbar").string(), model_, meta);
  }
  result.history = history_;
  return result;
}

// ---- loading a trained model ----

LoadedModel load_trained_model(const std::string& path, const std::string& expected_model,
                               const ModelBuilder& builder) {
  const Archive ar = read_archive(path);
  const nlohmann::json& m = ar.meta;
  LOWBIT_CHECK(m.contains("model") && m["model"].is_string() && m.contains("model_options"),
               "'{}' is not a lowbit model or checkpoint (its metadata names no model)", path);
  LoadedModel out;
  out.model_name = m["model"].get<std::string>();
  LOWBIT_CHECK(expected_model.empty() || expected_model == out.model_name,
               "'{}' holds a '{}' model, expected '{}'", path, out.model_name, expected_model);
  out.model_options = model_options_from_json(m["model_options"], path);
  const nlohmann::json extra = m.value("extra", nlohmann::json::object());
  LOWBIT_CHECK(builder || extra.empty(), "'{}' records how its layers were built ({}); load it through the lowbit CLI",
               path, extra.dump());
  out.model = builder ? builder(out.model_name, out.model_options, extra) : make_model(out.model_name, out.model_options);
  const bool checkpoint = m.value("kind", "") == kCheckpointKind;
  try {
    out.model->load_state_dict(checkpoint ? ar.with_prefix("model.") : ar.tensors, true);
  } catch (const Error& e) {
    lowbit::detail::throw_error(fmt::format("'{}' does not fit model '{}': {}", path, out.model_name, e.what()));
  }
  out.meta = m;
  return out;
}

}  // namespace lowbit::nn
