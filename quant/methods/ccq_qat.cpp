// CCQ's QAT backend (the CcqBackend a run uses) and Ccq::search: what lab::run_training calls before the final
// fine-tune. Each warm-up or fine-tune builds the zoo model at the candidate's precision config
// (quant::build_model), loads the committed weights into it (non-strict: a layer whose precision changed gets
// fresh quantizer parameters, e.g. LSQ's steps re-initialise from its first batch), and trains it with
// cross-entropy (plus the scheme's penalty, and its after-step hook) for a fixed number of steps: a fresh
// optimizer of the run's recipe (optimizer, weight decay, momentum) at the recipe's base learning rate × lr_scale,
// batches of the run's size from the training images, shuffled by a seed of (run seed, round, layer), no
// augmentation.
// Accuracy is measured on the validation hold-out (its first val_images images when set).
#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/archive.h"
#include "nn/data/loader.h"
#include "nn/data/registry.h"
#include "quant/methods/ccq.h"
#include "quant/training.h"

namespace lowbit::quant {

namespace fs = std::filesystem;

namespace {

std::vector<NamedTensor> cloned_state(const nn::Module& m) {
  std::vector<NamedTensor> s = m.state_dict();
  for (auto& [n, t] : s) t = t.clone();
  return s;
}

class QatCcqBackend final : public CcqBackend {
 public:
  QatCcqBackend(const SearchContext& ctx, const CcqSettings& s, std::vector<std::string> layer_names)
      : ctx_(ctx), s_(s), names_(std::move(layer_names)) {
    const nn::DatasetInfo& info = nn::dataset_info(ctx.config.dataset);
    if (static_cast<int>(info.mean.size()) == ctx.train->c) {
      mean_ = info.mean;
      std_ = info.std;
    }
    val_ = *ctx.val;
    if (s.val_images > 0 && s.val_images < val_.n)
      val_ = ctx.val->slice(0, s.val_images, fmt::format("{}[0:{}]", ctx.val->name, s.val_images));
  }

  double fp32_accuracy() override {
    std::shared_ptr<nn::Module> m = nn::make_model(ctx_.model, ctx_.options);
    nn::load_module(ctx_.init, *m, "", /*strict=*/false);
    return nn::evaluate(*m, val_, 256, mean_, std_).acc;
  }

  double warm_up(const PrecisionConfig& cfg, const std::vector<Precision>& p, int round, size_t layer) override {
    std::shared_ptr<nn::Module> m = build(cfg, p);
    train(*m, s_.warmup_steps, seed(round, layer + 1));
    return nn::evaluate(*m, val_, 256, mean_, std_).acc;
  }

  double fine_tune(const PrecisionConfig& cfg, const std::vector<Precision>& p, int round) override {
    std::shared_ptr<nn::Module> m = build(cfg, p);
    train(*m, s_.finetune_steps, seed(round, 0));
    previous_ = committed_;
    previous_precisions_ = committed_precisions_;
    committed_ = cloned_state(*m);
    committed_precisions_ = p;
    return nn::evaluate(*m, val_, 256, mean_, std_).acc;
  }

  void roll_back() override {
    committed_ = previous_;
    committed_precisions_ = previous_precisions_;
  }

  void save(const std::string& path) override {
    nlohmann::json layers = nlohmann::json::array();
    for (size_t l = 0; l < committed_precisions_.size(); ++l)
      layers.push_back({{"name", names_[l]}, {"precision", committed_precisions_[l].str()},
                        {"wbits", committed_precisions_[l].wbits}, {"abits", committed_precisions_[l].abits},
                        {"scheme", scheme_name(committed_precisions_[l].scheme)},
                        {"image_input", committed_precisions_[l].image_input}});
    nn::write_archive(path, {{"model", ctx_.model}, {"ccq_layers", layers}}, committed_);
  }

  void load(const std::string& path) override {
    const nn::Archive a = nn::read_archive(path);
    committed_ = a.tensors;
    committed_precisions_.clear();
    for (const auto& l : a.meta.at("ccq_layers")) {
      Precision p;
      p.wbits = l.at("wbits").get<int>();
      p.abits = l.at("abits").get<int>();
      p.scheme = parse_scheme(l.at("scheme").get<std::string>());
      p.image_input = l.at("image_input").get<bool>();
      committed_precisions_.push_back(p);
    }
    previous_ = committed_;
    previous_precisions_ = committed_precisions_;
  }

  int64_t images_per_step() const override { return ctx_.config.batch_size; }

 private:
  uint64_t seed(int round, size_t layer) const {
    return static_cast<uint64_t>(ctx_.config.seed) * 1000003ull + static_cast<uint64_t>(round) * 1009ull + layer;
  }

  // The model at cfg with the committed weights (the fp32 init before the first fine-tune). The quantizer
  // parameters (every tensor of a layer besides weight and bias) of a layer whose precision changed are left out.
  std::shared_ptr<nn::Module> build(const PrecisionConfig& cfg, const std::vector<Precision>& p) {
    std::shared_ptr<nn::Module> m = build_model(ctx_.model, ctx_.options, QuantSpec{cfg, ctx_.quant.path}).model;
    if (committed_.empty()) {
      load_init(*m, ctx_.init);
      return m;
    }
    std::vector<NamedTensor> st;
    for (const auto& [n, t] : committed_) {
      bool keep = true;
      for (size_t l = 0; l < names_.size() && l < committed_precisions_.size(); ++l) {
        const std::string pre = names_[l] + ".";
        if (n.rfind(pre, 0) == 0 && !(p[l] == committed_precisions_[l])) {
          const std::string leaf = n.substr(pre.size());
          keep = leaf == "weight" || leaf == "bias";
        }
      }
      if (keep) st.emplace_back(n, t.clone());
    }
    m->load_state_dict(st, /*strict=*/false);
    bump_weight_versions(*m);
    return m;
  }

  void train(nn::Module& m, int steps, uint64_t seed) {
    if (steps <= 0) return;
    std::unique_ptr<Optimizer> opt = nn::make_optimizer(ctx_.config, m.parameters());
    opt->set_lr(ctx_.config.lr * static_cast<float>(s_.lr_scale));
    nn::LoaderOptions lo;
    lo.batch_size = ctx_.config.batch_size;
    lo.seed = seed;
    lo.mean = mean_;
    lo.std = std_;
    lo.prefetch = 1;
    const std::shared_ptr<const nn::ImageDataset> data(std::shared_ptr<const nn::ImageDataset>(), ctx_.train);
    nn::DataLoader loader(data, lo);
    m.train();
    int64_t epoch = 0;
    loader.start_epoch(epoch);
    nn::Batch b;
    for (int step = 0; step < steps; ++step) {
      if (!loader.next(b)) {
        loader.start_epoch(++epoch);
        LOWBIT_CHECK(loader.next(b), "ccq: the training set is empty");
      }
      opt->zero_grad();
      const Var logits = m(Var(b.images));
      Var loss = cross_entropy(logits, b.labels, ctx_.config.label_smoothing);
      const Var reg = regularization_loss(m);
      if (reg.defined()) loss = loss + reg;
      const float lv = loss.value().item();
      LOWBIT_CHECK(std::isfinite(lv), "ccq: training diverged (loss {}) in a search step; try a lower learning rate",
                   lv);
      loss.backward();
      opt->step();
      after_optimizer_step(m);
    }
  }

  const SearchContext& ctx_;
  CcqSettings s_;
  std::vector<std::string> names_;
  std::vector<float> mean_, std_;
  nn::ImageDataset val_;
  std::vector<NamedTensor> committed_, previous_;
  std::vector<Precision> committed_precisions_, previous_precisions_;
};

}  // namespace

std::unique_ptr<CcqBackend> make_qat_ccq_backend(const SearchContext& ctx, const CcqSettings& s,
                                                 std::vector<std::string> layer_names) {
  return std::make_unique<QatCcqBackend>(ctx, s, std::move(layer_names));
}

SearchResult Ccq::search(const SearchContext& ctx) {
  LOWBIT_CHECK(ctx.train && ctx.val, "ccq: the search needs training and validation images");
  LOWBIT_CHECK(ctx.val_is_holdout,
               "ccq: the search selects on a validation hold-out of the training set, never the test split: give "
               "one (--val-holdout N, or val_holdout in a grid's recipe)");
  LOWBIT_CHECK(!ctx.init.empty(), "ccq: the search starts from an fp32 model: give one (--init FILE, or init_from in "
                                  "a grid cell)");
  std::error_code ec;
  if (!ctx.resume && fs::exists(ctx.dir, ec)) fs::remove_all(ctx.dir, ec);
  // The weight layers and their geometry, from the model at the run's quantization.
  const BuiltModel probe = build_model(ctx.model, ctx.options, ctx.quant);
  const std::vector<LayerGeometry> geo =
      layer_geometry(*probe.model, Shape{ctx.train->c, ctx.train->h, ctx.train->w});
  std::vector<std::string> names;
  for (const auto& g : geo) names.push_back(g.name);
  CcqSearch search(s_, geo, ctx.quant.precision, ctx.dir);
  const std::unique_ptr<CcqBackend> owned = make_qat_ccq_backend(ctx, s_, names);
  CcqBackend& backend = *owned;
  if (ctx.log) ctx.log(fmt::format("ccq: search in {} (ladder {}, target {} <= {})", ctx.dir, s_.ladder, s_.target,
                                   s_.target_value));
  if (!ctx.donors.empty() && !fs::exists(fs::path(ctx.dir) / "state.json", ec)) {
    const auto [from, round] = search.seed_from(ctx.donors);
    if (round >= 0 && ctx.log)
      ctx.log(fmt::format("ccq: rounds 0..{} taken from {} (the same search with another target; they are the rounds "
                          "this one would run)", round, from));
  }
  const CcqResult r = search.run(backend);
  const std::string weights = (fs::path(ctx.dir) / "searched.lbar").string();
  backend.save(weights);
  const double imgs = static_cast<double>(backend.images_per_step()) *
                      static_cast<double>(r.warmup_steps + r.finetune_steps);
  metrics_ = {{"search_seconds", r.seconds},
              {"search_rounds", r.history.empty() ? 0 : r.history.back().round},
              {"search_warmup_steps", r.warmup_steps},
              {"search_finetune_steps", r.finetune_steps},
              {"search_qat_epochs", imgs / static_cast<double>(ctx.train->n)},
              {"search_target_reached", r.target_reached ? 1 : 0},
              {"search_fp32_val_acc", r.fp32_acc},
              {"search_val_acc", r.final_acc}};
  if (r.seeded_round >= 0) metrics_["search_seeded_round"] = r.seeded_round;
  if (ctx.log)
    ctx.log(fmt::format("ccq: {} rounds, {:.1f} s, {:.2f} QAT-epoch equivalents; average weight bits {:.3f}, {} B, "
                        "target {}reached; val acc {:.2f}% (fp32 {:.2f}%)",
                        r.history.empty() ? 0 : r.history.back().round, r.seconds,
                        metrics_["search_qat_epochs"].get<double>(), r.cost.avg_wbits(), r.cost.model_bytes(),
                        r.target_reached ? "" : "NOT ", 100.0 * r.final_acc, 100.0 * r.fp32_acc));
  SearchResult out;
  out.quant = QuantSpec{r.config, ctx.quant.path};
  out.init = weights;
  out.seconds = r.seconds;
  out.metrics = metrics_;
  return out;
}

}  // namespace lowbit::quant
