#include "quant/methods/dfq.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/archive.h"
#include "quant/methods/dfq_plot.h"
#include "quant/cost.h"
#include "quant/rules_dfq.h"

namespace lowbit::quant {

namespace {

const char* const kSettings =
    "b_min, b_max, init_bits, relaxation, group_channels, lambda, target_bits, search_epochs, beta_optimizer, "
    "beta_lr, discretize, log_every, allocation";

double tidy_double(float f) { return std::stod(fmt::format("{}", f)); }

nlohmann::json tensor_json(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  return {{"shape", t.shape().to_vector()}, {"data", v}};
}

Tensor tensor_from_json(const nlohmann::json& j, const std::string& where) {
  LOWBIT_CHECK(j.is_object() && j.contains("shape") && j.contains("data"), "dfq state: {} is not a tensor", where);
  const Shape shape(j.at("shape").get<std::vector<int64_t>>());
  const std::vector<float> data = j.at("data").get<std::vector<float>>();
  LOWBIT_CHECK(static_cast<int64_t>(data.size()) == shape.numel(), "dfq state: {} has {} values for shape {}", where,
               data.size(), shape.str());
  Tensor t = Tensor::empty(shape);
  std::copy(data.begin(), data.end(), t.data());
  return t;
}

}  // namespace

// ---- settings ----

void DfqSettings::validate() const {
  LOWBIT_CHECK(b_min >= 1 && b_min <= 8, "dfq.b_min must be in [1, 8] (DoReFa weight widths), got {}", b_min);
  LOWBIT_CHECK(b_max >= 1 && b_max <= 8, "dfq.b_max must be in [1, 8] (DoReFa weight widths), got {}", b_max);
  LOWBIT_CHECK(b_min < b_max, "dfq.b_max must be greater than b_min (the range [{}, {}] has nothing to search)", b_min,
               b_max);
  LOWBIT_CHECK(init_bits == 0.0f || (std::isfinite(init_bits) && init_bits >= float(b_min) && init_bits <= float(b_max)),
               "dfq.init_bits must be in [b_min, b_max] = [{}, {}], got {}", b_min, b_max, init_bits);
  LOWBIT_CHECK(group_channels >= 0, "dfq.group_channels must be >= 0 (0 = one width per layer), got {}",
               group_channels);
  LOWBIT_CHECK(std::isfinite(target_bits) && (target_bits == 0.0f || (target_bits >= float(b_min) && target_bits <= float(b_max))),
               "dfq.target_bits must be in [b_min, b_max] = [{}, {}] (or 0 for no target), got {}", b_min, b_max,
               target_bits);
  LOWBIT_CHECK(std::isfinite(lambda) && (lambda >= 0.0f || lambda == -1.0f), "dfq.lambda must be >= 0, got {}", lambda);
  LOWBIT_CHECK(target_bits == 0.0f || effective_lambda() > 0.0f,
               "dfq.lambda must be > 0 with a target (a hinge of weight 0 never reaches target_bits {})", target_bits);
  LOWBIT_CHECK(search_epochs >= 1, "dfq.search_epochs must be >= 1, got {}", search_epochs);
  LOWBIT_CHECK(std::isfinite(beta_lr) && beta_lr > 0.0f, "dfq.beta_lr must be > 0, got {}", beta_lr);
  LOWBIT_CHECK(log_every >= 1, "dfq.log_every must be >= 1, got {}", log_every);
  LOWBIT_CHECK(!random || target_bits > 0.0f, "dfq.target_bits must be given for allocation random (the average "
               "bits the random widths match)");
}

nlohmann::json DfqSettings::to_json() const {
  return {{"b_min", b_min},
          {"b_max", b_max},
          {"init_bits", tidy_double(effective_init())},
          {"relaxation", relaxation == DfqRelaxation::softmax ? "softmax" : "interpolate"},
          {"group_channels", group_channels},
          {"lambda", tidy_double(effective_lambda())},
          {"target_bits", tidy_double(target_bits)},
          {"search_epochs", search_epochs},
          {"beta_optimizer", adam ? "adam" : "sgd"},
          {"beta_lr", tidy_double(beta_lr)},
          {"discretize", round ? "round" : "ceil"},
          {"log_every", log_every},
          {"allocation", random ? "random" : "search"}};
}

DfqSettings DfqSettings::from_json(const nlohmann::json& j) {
  LOWBIT_CHECK(j.is_object(), "dfq: settings must be a JSON object, got {}", j.dump());
  DfqSettings s;
  auto integer = [](const nlohmann::json& v, const std::string& key) {
    LOWBIT_CHECK(v.is_number_integer(), "dfq.{} must be an integer, got {}", key, v.dump());
    return v.get<int64_t>();
  };
  auto number = [](const nlohmann::json& v, const std::string& key) {
    LOWBIT_CHECK(v.is_number(), "dfq.{} must be a number, got {}", key, v.dump());
    return v.get<float>();
  };
  auto text = [](const nlohmann::json& v, const std::string& key) {
    LOWBIT_CHECK(v.is_string(), "dfq.{} must be a string, got {}", key, v.dump());
    return v.get<std::string>();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    if (k == "b_min") {
      s.b_min = static_cast<int>(std::clamp<int64_t>(integer(v, k), -1, 99));
    } else if (k == "b_max") {
      s.b_max = static_cast<int>(std::clamp<int64_t>(integer(v, k), -1, 99));
    } else if (k == "init_bits") {
      s.init_bits = number(v, k);
      LOWBIT_CHECK(s.init_bits != 0.0f, "dfq.init_bits must be in [b_min, b_max], got 0");
    } else if (k == "relaxation") {
      const std::string r = text(v, k);
      LOWBIT_CHECK(r == "interpolate" || r == "softmax", "dfq.relaxation must be interpolate or softmax, got '{}'", r);
      s.relaxation = r == "softmax" ? DfqRelaxation::softmax : DfqRelaxation::interpolate;
    } else if (k == "group_channels") {
      s.group_channels = integer(v, k);
    } else if (k == "lambda") {
      s.lambda = number(v, k);
      LOWBIT_CHECK(s.lambda >= 0.0f, "dfq.lambda must be >= 0, got {}", s.lambda);
    } else if (k == "target_bits") {
      s.target_bits = number(v, k);
    } else if (k == "search_epochs") {
      s.search_epochs = static_cast<int>(std::clamp<int64_t>(integer(v, k), -1, 1 << 20));
    } else if (k == "beta_optimizer") {
      const std::string o = text(v, k);
      LOWBIT_CHECK(o == "sgd" || o == "adam", "dfq.beta_optimizer must be sgd or adam, got '{}'", o);
      s.adam = o == "adam";
    } else if (k == "beta_lr") {
      s.beta_lr = number(v, k);
    } else if (k == "discretize") {
      const std::string d = text(v, k);
      LOWBIT_CHECK(d == "ceil" || d == "round", "dfq.discretize must be ceil or round, got '{}'", d);
      s.round = d == "round";
    } else if (k == "allocation") {
      const std::string a = text(v, k);
      LOWBIT_CHECK(a == "search" || a == "random", "dfq.allocation must be search or random, got '{}'", a);
      s.random = a == "random";
    } else if (k == "log_every") {
      s.log_every = static_cast<int>(std::clamp<int64_t>(integer(v, k), -1, 1 << 30));
    } else {
      LOWBIT_CHECK(false, "dfq: unknown setting '{}' (settings: {})", k, kSettings);
    }
  }
  s.validate();
  return s;
}

int dfq_discretize(float beta, const DfqSettings& s) {
  const float b = s.round ? std::nearbyint(beta) : std::ceil(beta);
  return std::clamp(static_cast<int>(b), s.b_min, s.b_max);
}

// ---- the method ----

Dfq::Dfq(DfqSettings s) : settings_(s) { settings_.validate(); }

std::unique_ptr<Method> Dfq::from_json(const nlohmann::json& settings) {
  return std::make_unique<Dfq>(DfqSettings::from_json(settings));
}

void Dfq::prepare(nn::Module& student, nn::Module* teacher) {
  LOWBIT_CHECK(teacher == nullptr, "dfq: takes no teacher");
  model_ = &student;
  std::vector<std::string> names;
  for (const auto& [name, m] : student.named_modules()) {
    auto* q = dynamic_cast<QuantizedLayer*>(m);
    if (!q || !q->precision().quantizes_weights()) continue;
    LOWBIT_CHECK(q->precision().scheme == Scheme::dorefa,
                 "dfq: layer '{}' quantizes its weights with {}; DFQ searches DoReFa weight widths (quantize with "
                 "scheme dorefa, activations at any fixed bits, or keep the layer fp32)",
                 name, scheme_name(q->precision().scheme));
    names.push_back(name);
  }
  LOWBIT_CHECK(!names.empty(),
               "dfq: the model has no quantized weight layer to search (quantize it with scheme dorefa, e.g. "
               "wbits 8, abits 8, first_last q)");
  layers_.clear();
  std::vector<Var> vars;
  const int K = settings_.b_max - settings_.b_min + 1;
  for (const std::string& name : names) {
    const size_t dot = name.rfind('.');
    nn::Module& parent = dot == std::string::npos ? student : student.find(name.substr(0, dot));
    const std::string local = dot == std::string::npos ? name : name.substr(dot + 1);
    std::shared_ptr<nn::Module> twin = make_dfq_layer(student.find(name));
    parent.replace_child(local, twin);
    auto* d = dynamic_cast<DfqLayer*>(twin.get());
    Layer l;
    l.name = name;
    l.layer = d;
    const int64_t O = d->out_channels(), per = d->weight_numel() / O;
    const int64_t cg = settings_.group_channels <= 0 || settings_.group_channels > O ? O : settings_.group_channels;
    l.groups = dfq_num_groups(O, settings_.group_channels);
    for (int64_t g = 0; g < l.groups; ++g) l.group_weights.push_back(std::min(cg, O - g * cg) * per);
    l.var = settings_.relaxation == DfqRelaxation::interpolate
                ? Var(Tensor::full(Shape{l.groups}, settings_.effective_init()), true)
                : Var(Tensor::zeros(Shape{l.groups, K}), true);
    l.var.set_name(name + ".dfq");
    d->set_search(l.var, settings_.relaxation, settings_.b_min, settings_.b_max, settings_.group_channels);
    vars.push_back(l.var);
    layers_.push_back(std::move(l));
  }
  if (settings_.adam) {
    AdamOptions ao;
    ao.lr = settings_.beta_lr;
    opt_ = std::make_unique<Adam>(vars, ao);
  } else {
    SgdOptions so;
    so.lr = settings_.beta_lr;
    opt_ = std::make_unique<Sgd>(vars, so);
  }
  opt_->set_lr(settings_.beta_lr);
  searching_ = true;
  if (settings_.random) choose_random_bits();
}

void Dfq::choose_random_bits() {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the weights' bits
  for (const auto& [name, t] : model_->state_dict()) {
    const float* d = t.data();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint32_t u;
      std::memcpy(&u, d + i, sizeof u);
      h = (h ^ u) * 1099511628211ull;
    }
  }
  Rng rng(h);
  double total = 0;
  for (const Layer& l : layers_)
    for (int64_t n : l.group_weights) total += double(n);
  const int span = settings_.b_max - settings_.b_min + 1;
  std::vector<std::vector<int>> best, draw(layers_.size());
  double best_gap = 1e30;
  for (int t = 0; t < 20000; ++t) {
    double bits = 0;
    for (size_t i = 0; i < layers_.size(); ++i) {
      draw[i].resize(size_t(layers_[i].groups));
      for (size_t g = 0; g < draw[i].size(); ++g) {
        draw[i][g] = settings_.b_min + int(rng.below(uint64_t(span)));
        bits += double(draw[i][g]) * double(layers_[i].group_weights[g]);
      }
    }
    const double gap = std::fabs(bits / total - double(settings_.target_bits));
    if (gap < best_gap) best_gap = gap, best = draw;
  }
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].layer->set_fixed_bits(best[i]);
  searching_ = false;
}

void Dfq::attach_run(const MethodRun& run) { run_ = run; }

Var Dfq::expected_bits(const Layer& l) const {
  if (settings_.relaxation == DfqRelaxation::interpolate) return l.var;
  const int K = settings_.b_max - settings_.b_min + 1;
  Tensor b = Tensor::empty(Shape{K, 1});
  for (int k = 0; k < K; ++k) b[k] = float(settings_.b_min + k);
  return reshape(matmul(softmax(l.var), Var(b)), Shape{l.groups});
}

std::vector<float> Dfq::widths(const Layer& l) const {
  NoGradGuard ng;
  return expected_bits(l).value().to_vector();
}

double Dfq::average_bits() const {
  double bits = 0, n = 0;
  for (const Layer& l : layers_) {
    const std::vector<float> w = widths(l);
    for (size_t g = 0; g < w.size(); ++g) {
      bits += double(w[g]) * double(l.group_weights[g]);
      n += double(l.group_weights[g]);
    }
  }
  return n > 0 ? bits / n : 0.0;
}

Var Dfq::loss(const nn::StepInputs& step) {
  if (input_shape_.empty()) {
    const Shape& s = step.batch.images.shape();
    input_shape_ = {s[1], s[2], s[3]};
  }
  const Var ce = cross_entropy(step.logits, step.batch.labels, step.label_smoothing);
  if (!searching_) return ce;
  double total = 0;
  for (const Layer& l : layers_) total += double(std::accumulate(l.group_weights.begin(), l.group_weights.end(), int64_t{0}));
  Var sum;
  for (const Layer& l : layers_) {
    Tensor n = Tensor::empty(Shape{l.groups});
    for (int64_t g = 0; g < l.groups; ++g) n[g] = static_cast<float>(double(l.group_weights[size_t(g)]) / total);
    const Var part = lowbit::sum(mul(expected_bits(l), Var(n)));
    sum = sum.defined() ? add(sum, part) : part;
  }
  const float lambda = settings_.effective_lambda();
  const Var penalty = settings_.target_bits > 0.0f ? relu(add(sum, -settings_.target_bits)) : sum;
  return add(ce, mul(penalty, lambda));
}

void Dfq::after_step(int64_t global_step) {
  if (!searching_) return;
  opt_->step();
  opt_->zero_grad();
  if (settings_.relaxation == DfqRelaxation::interpolate)
    for (Layer& l : layers_) {
      Tensor& b = l.var.value();
      for (int64_t g = 0; g < b.numel(); ++g) b[g] = std::clamp(b[g], float(settings_.b_min), float(settings_.b_max));
    }
  last_step_ = global_step;
  if (global_step % settings_.log_every == 0) log_trajectory();
}

void Dfq::log_trajectory() {
  if (!trajectory_.empty() && int64_t(trajectory_.back()[0]) == last_step_) trajectory_.pop_back();  // newest wins
  std::vector<double> row = {double(last_step_), double(epoch_), average_bits()};
  for (const Layer& l : layers_) {
    const std::vector<float> w = widths(l);
    double s = 0, n = 0;
    for (size_t g = 0; g < w.size(); ++g) s += double(w[g]) * double(l.group_weights[g]), n += double(l.group_weights[g]);
    row.push_back(s / n);
  }
  trajectory_.push_back(row);
}

void Dfq::before_epoch(int epoch) {
  // The row that closes the previous epoch is logged here rather than in after_epoch, which runs after the
  // checkpoint is written: a resumed run then logs it too (same β, same row).
  if (searching_ && epoch > 0) log_trajectory();
  epoch_ = epoch;
  epoch_start_ = std::chrono::steady_clock::now();
  in_epoch_ = true;
  if (searching_ && epoch >= settings_.search_epochs) discretize();
}

double Dfq::search_seconds_now() const {
  if (!searching_ || !in_epoch_) return search_seconds_;
  return search_seconds_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
}

void Dfq::after_epoch(const nn::EpochMetrics&) {
  if (searching_) search_seconds_ = search_seconds_now();
  in_epoch_ = false;
  write_files();
}

void Dfq::discretize() {
  if (!searching_) return;
  log_trajectory();
  for (Layer& l : layers_) {
    std::vector<int> bits;
    if (settings_.relaxation == DfqRelaxation::interpolate) {
      for (int64_t g = 0; g < l.groups; ++g) bits.push_back(dfq_discretize(l.var.value()[g], settings_));
    } else {
      const int K = settings_.b_max - settings_.b_min + 1;
      for (int64_t g = 0; g < l.groups; ++g) {
        const float* row = l.var.value().data() + g * K;
        bits.push_back(settings_.b_min + int(std::max_element(row, row + K) - row));
      }
    }
    l.layer->set_fixed_bits(bits);
  }
  searching_ = false;
  metrics_ = metrics();
  write_files();
}

double Dfq::searched_bits() const {
  double bits = 0, n = 0;
  for (const Layer& l : layers_)
    for (size_t g = 0; g < l.group_weights.size(); ++g) {
      const double b = searching_ ? 0.0 : double(l.layer->fixed_bits()[g]);
      bits += b * double(l.group_weights[g]);
      n += double(l.group_weights[g]);
    }
  return n > 0 ? bits / n : 0.0;
}

nlohmann::json Dfq::metrics() const {
  nlohmann::json m = {{"search_seconds", search_seconds_now()}, {"search_epochs", settings_.search_epochs}};
  if (searching_ || input_shape_.size() != 3 || !model_) return m;
  // quant/cost.h at the layers' precisions; a layer with per-group widths holds its container width there, so
  // its weights, scales, bits and BitOPs are recounted from every group's own width (codes packed per group,
  // rows padded as cost.h packs them; one fp32 scale per group instead of one per tensor).
  ModelCost cost = model_cost(*model_, Shape{input_shape_[0], input_shape_[1], input_shape_[2]});
  for (LayerCost& lc : cost.layers) {
    const auto it = std::find_if(layers_.begin(), layers_.end(),
                                 [&](const Layer& l) { return l.name == lc.geometry.name; });
    if (it == layers_.end() || it->groups == 1) continue;
    const std::vector<int>& b = it->layer->fixed_bits();
    const int64_t rows = lc.geometry.rows, len = lc.geometry.row_len();
    const int64_t cg = settings_.group_channels;
    int64_t bytes = 0;
    double bits = 0;
    for (size_t g = 0; g < b.size(); ++g) {
      Precision p = lc.precision;
      p.wbits = b[g];
      const int64_t r = std::min<int64_t>(cg, rows - int64_t(g) * cg);
      bytes += packed_weight_bytes(p, r, len);
      bits += double(b[g]) * double(r * len);
    }
    const double wb = bits / double(lc.geometry.weights);
    cost.weight_bytes += bytes - lc.weight_bytes;
    cost.scale_bytes += 4 * (int64_t(b.size()) - 1);
    cost.weight_bits += bits - double(lc.wbits) * double(lc.geometry.weights);
    const double bitops = double(lc.geometry.macs) * wb * double(lc.abits);
    cost.bitops += bitops - lc.bitops;
  }
  nlohmann::json mm = cost.metrics();
  for (auto it = mm.begin(); it != mm.end(); ++it) m[it.key()] = it.value();
  m["searched_avg_wbits"] = searched_bits();
  return m;
}

nlohmann::json Dfq::fixed_metrics() const {
  if (!metrics_.contains("size_bytes") && input_shape_.size() == 3) metrics_ = metrics();
  return metrics_;
}

nlohmann::json Dfq::state() const {
  nlohmann::json vars = nlohmann::json::object(), bits = nlohmann::json::object();
  for (const Layer& l : layers_) {
    vars[l.name] = tensor_json(l.var.value());
    if (!searching_) bits[l.name] = l.layer->fixed_bits();
  }
  nlohmann::json adam = nlohmann::json::array();
  if (opt_)
    for (const auto& [n, t] : opt_->state()) adam.push_back({{"name", n}, {"tensor", tensor_json(t)}});
  nlohmann::json s = {{"phase", searching_ ? "search" : "finetune"},
                      {"vars", vars},
                      {"optimizer", adam},
                      {"trajectory", trajectory_},
                      {"last_step", last_step_},
                      {"input_shape", input_shape_},
                      {"search_seconds", search_seconds_now()},
                      {"epoch", epoch_},
                      {"metrics", searching_ ? metrics() : fixed_metrics()}};
  if (!searching_) s["bits"] = bits;
  return s;
}

void Dfq::load_state(const nlohmann::json& s) {
  if (s.empty()) return;
  try {
    const std::string phase = s.at("phase").get<std::string>();
    LOWBIT_CHECK(phase == "search" || phase == "finetune", "dfq state: unknown phase '{}'", phase);
    for (Layer& l : layers_) {
      LOWBIT_CHECK(s.at("vars").contains(l.name), "dfq state: no search variable for layer '{}'", l.name);
      const Tensor t = tensor_from_json(s.at("vars").at(l.name), l.name);
      LOWBIT_CHECK(t.shape() == l.var.shape(), "dfq state: layer '{}' has {} search values, this run {}", l.name,
                   t.shape().str(), l.var.shape().str());
      std::copy(t.data(), t.data() + t.numel(), l.var.value().data());
    }
    std::vector<NamedTensor> adam;
    for (const auto& e : s.at("optimizer")) adam.emplace_back(e.at("name").get<std::string>(), tensor_from_json(e.at("tensor"), "optimizer"));
    opt_->load_state(adam);
    trajectory_ = s.at("trajectory").get<std::vector<std::vector<double>>>();
    last_step_ = s.at("last_step").get<int64_t>();
    input_shape_ = s.at("input_shape").get<std::vector<int64_t>>();
    search_seconds_ = s.at("search_seconds").get<double>();
    epoch_ = s.at("epoch").get<int>();
    if (phase == "finetune") {
      for (Layer& l : layers_) l.layer->set_fixed_bits(s.at("bits").at(l.name).get<std::vector<int>>());
      searching_ = false;
      metrics_ = s.at("metrics");
    }
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "dfq state in the checkpoint is malformed: {}", e.what());
  }
}

nlohmann::json Dfq::precision_config(const nlohmann::json& base) const {
  LOWBIT_CHECK(!searching_, "dfq: no precision config before the bits are discretised");
  nlohmann::json cfg = base;
  if (!cfg.contains("layers") || cfg["layers"].is_null()) cfg["layers"] = nlohmann::json::array();
  LOWBIT_CHECK(cfg["layers"].is_array(), "dfq: the run's precision config lists its layers as an object; expected a list");
  for (const Layer& l : layers_) {
    const std::vector<int>& b = l.layer->fixed_bits();
    cfg["layers"].push_back({{"match", l.name}, {"wbits", *std::max_element(b.begin(), b.end())}});
  }
  PrecisionConfig::from_json(cfg, "dfq's discretised precision config");  // checks it as any file would be
  return cfg;
}

void Dfq::write_files() const {
  if (run_.out_dir.empty()) return;
  const std::string dir = run_.out_dir;
  std::string csv = "step,epoch,avg_bits";
  for (const Layer& l : layers_) csv += "," + l.name;
  csv += "\n";
  for (const auto& row : trajectory_) {
    csv += fmt::format("{},{},{:.6f}", int64_t(row[0]), int64_t(row[1]), row[2]);
    for (size_t k = 3; k < row.size(); ++k) csv += fmt::format(",{:.6f}", row[k]);
    csv += "\n";
  }
  nn::write_file_atomic(dir + "/beta.csv", csv.data(), csv.size());
  if (!searching_) {
    const nlohmann::json extra = run_.extra_meta;
    if (extra.contains("quant") && extra["quant"].contains("precision")) {
      const std::string text = precision_config(extra["quant"]["precision"]).dump(2) + "\n";
      nn::write_file_atomic(dir + "/dfq_precision.json", text.data(), text.size());
    }
  }
  std::vector<std::string> names;
  for (const Layer& l : layers_) names.push_back(l.name);
  std::string why;
  if (!trajectory_.empty() && !write_beta_plot(dir, names, settings_.target_bits, &why) && !plot_warned_) {
    std::fprintf(stderr, "warning: dfq: no plot of beta.csv: %s\n", why.c_str());
    plot_warned_ = true;
  }
}

void Dfq::finish_model_meta(nlohmann::json& meta) {
  if (searching_) {
    std::fprintf(stderr,
                 "warning: dfq: the run ended inside the search (epochs <= search_epochs = %d): model.lbar holds the "
                 "discretised bits without a fine-tune, and the last epoch's accuracy is the relaxed model's\n",
                 settings_.search_epochs);
    discretize();
  }
  nlohmann::json bits = nlohmann::json::object();
  for (const Layer& l : layers_) bits[l.name] = l.layer->fixed_bits();
  meta["dfq"] = {{"bits", bits}, {"group_channels", settings_.group_channels}, {"metrics", fixed_metrics()}};
  if (!meta.contains("extra") || !meta["extra"].contains("quant")) return;
  nlohmann::json& q = meta["extra"]["quant"];
  if (q.contains("precision")) q["precision"] = precision_config(q["precision"]);
  if (q.contains("layers") && q["layers"].is_array())
    for (auto& row : q["layers"])
      for (const Layer& l : layers_)
        if (row.value("name", "") == l.name) {
          const std::vector<int>& b = l.layer->fixed_bits();
          row["wbits"] = *std::max_element(b.begin(), b.end());
        }
}

}  // namespace lowbit::quant
