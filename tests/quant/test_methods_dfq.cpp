// DFQ (quant/methods/dfq.h, quant/rules_dfq.h): the relaxed quantizer equals the plain DoReFa rule at integer
// widths; its gradients (β, softmax logits, mixture weights, weights) against central finite differences and the
// candidates' own surrogates; per-group fixed bits (codes exact, kernel path == fake path); discretisation;
// settings errors; the search moving β under the penalty and the fine-tune on the kernels; a run killed and
// resumed equal to the straight run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/archive.h"
#include "nn/train/trainer.h"
#include "quant/methods/dfq.h"
#include "quant/methods/run.h"
#include "quant/quantized_model.h"
#include "quant/rules_dfq.h"
#include "quant/training.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;
using namespace lowbit;
using namespace lowbit::quant;

namespace {

Tensor random_tensor(const Shape& s, uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = scale * rng.uniform(-1.0f, 1.0f);
  return t;
}

// L = Σ G ⊙ f(...) for a fixed random G, as a double.
double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += double(a[i]) * b[i];
  return s;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("dfq rule: at an integer width the interpolation is the plain DoReFa quantizer") {
  const Var w(random_tensor(Shape{6, 3, 3, 3}, 1, 0.5f), true);
  for (int b = 1; b <= 8; ++b) {
    const int b_min = std::max(1, b - 2), b_max = std::min(8, std::max(b + 1, b_min + 1));
    const Var beta(Tensor::full(Shape{1}, float(b)), true);
    const Tensor got = dfq_interpolated_weight(w, beta, b_min, b_max, 0).value();
    const Tensor want = dorefa_weight(w, b).value.value();
    for (int64_t i = 0; i < got.numel(); ++i) REQUIRE(got[i] == want[i]);
  }
  // Per group: each group at its own integer width.
  const Var beta(Tensor::from(Shape{3}, {2.0f, 5.0f, 8.0f}), true);
  const Tensor got = dfq_interpolated_weight(w, beta, 2, 8, 2).value();
  const int bits[3] = {2, 5, 8};
  for (int g = 0; g < 3; ++g) {
    const Tensor want = dorefa_weight(w, bits[g]).value.value();
    for (int64_t i = g * 54; i < (g + 1) * 54; ++i) REQUIRE(got[i] == want[i]);
  }
}

TEST_CASE("dfq rule: the beta gradient is <g, Q_hi - Q_lo> and matches central finite differences") {
  const Var w(random_tensor(Shape{6, 2, 3, 3}, 2, 0.7f), true);
  const Tensor G = random_tensor(Shape{6, 2, 3, 3}, 3);
  for (int64_t gc : {int64_t{0}, int64_t{2}, int64_t{4}}) {
    const int64_t groups = dfq_num_groups(6, gc);
    Tensor b0 = Tensor::empty(Shape{groups});
    for (int64_t g = 0; g < groups; ++g) b0[g] = 2.3f + 1.7f * float(g);  // 2.3, 4.0 + ..., all non-integer
    for (int64_t g = 0; g < groups; ++g)
      if (b0[g] == std::floor(b0[g])) b0[g] += 0.25f;
    Var beta(b0.clone(), true);
    const Var wt = dfq_interpolated_weight(w, beta, 1, 8, gc);
    sum(mul(wt, Var(G))).backward();
    const Tensor analytic = beta.grad().clone();
    for (int64_t g = 0; g < groups; ++g) {
      const float h = 1e-2f;  // L is linear in β between integers: the difference quotient is exact up to rounding
      Tensor bp = b0.clone(), bm = b0.clone();
      bp[g] += h;
      bm[g] -= h;
      NoGradGuard ng;
      const double lp = dot(dfq_interpolated_weight(w, Var(bp), 1, 8, gc).value(), G);
      const double lm = dot(dfq_interpolated_weight(w, Var(bm), 1, 8, gc).value(), G);
      const double fd = (lp - lm) / (2.0 * h);
      CHECK(analytic[g] == doctest::Approx(fd).epsilon(2e-3));
      // The formula: Σ over the group of G·(Q_lo+1 − Q_lo).
      const int lo = static_cast<int>(std::floor(b0[g]));
      const Tensor qh = dorefa_weight(w, lo + 1).value.value(), ql = dorefa_weight(w, lo).value.value();
      const int64_t per = 18, c = gc == 0 ? 6 : gc;
      double want = 0;
      for (int64_t i = g * c * per; i < std::min<int64_t>(6, (g + 1) * c) * per; ++i) want += double(G[i]) * (qh[i] - ql[i]);
      CHECK(analytic[g] == doctest::Approx(want).epsilon(1e-4));
    }
  }
}

TEST_CASE("dfq rule: the weight gradient is (1-f) x Q_lo's surrogate + f x Q_hi's") {
  const Tensor w0 = random_tensor(Shape{4, 10}, 4, 0.8f);
  const Tensor G = random_tensor(Shape{4, 10}, 5);
  for (float b : {1.4f, 3.25f, 7.5f}) {
    Var w(w0.clone(), true);
    sum(mul(dfq_interpolated_weight(w, Var(Tensor::full(Shape{1}, b), true), 1, 8, 0), Var(G))).backward();
    const int lo = static_cast<int>(std::floor(b));
    const float f = b - float(lo);
    Var wl(w0.clone(), true), wh(w0.clone(), true);
    sum(mul(dorefa_weight(wl, lo).value, Var(G))).backward();
    sum(mul(dorefa_weight(wh, lo + 1).value, Var(G))).backward();
    for (int64_t i = 0; i < w0.numel(); ++i)
      CHECK(w.grad()[i] == doctest::Approx((1.0f - f) * wl.grad()[i] + f * wh.grad()[i]).epsilon(1e-5));
  }
}

TEST_CASE("dfq rule: mixture and softmax gradients match central finite differences") {
  const Var w(random_tensor(Shape{4, 6}, 6, 0.6f), true);
  const Tensor G = random_tensor(Shape{4, 6}, 7);
  const Tensor l0 = random_tensor(Shape{2, 4}, 8);  // 2 groups of 2 channels, widths 2..5
  Var logits(l0.clone(), true);
  sum(mul(dfq_softmax_weight(w, logits, 2, 5, 2), Var(G))).backward();
  for (int64_t k = 0; k < l0.numel(); ++k) {
    const float h = 1e-2f;
    Tensor lp = l0.clone(), lm = l0.clone();
    lp[k] += h;
    lm[k] -= h;
    NoGradGuard ng;
    const double fd = (dot(dfq_softmax_weight(w, Var(lp), 2, 5, 2).value(), G) -
                       dot(dfq_softmax_weight(w, Var(lm), 2, 5, 2).value(), G)) / (2.0 * h);
    CHECK(logits.grad()[k] == doctest::Approx(fd).epsilon(1e-2));
  }
  // dfq_mix itself: linear in the candidates and in p, so finite differences are exact up to rounding.
  const Tensor c0 = random_tensor(Shape{3, 5}, 9), c1 = random_tensor(Shape{3, 5}, 10);
  const Tensor p0 = random_tensor(Shape{3, 2}, 11);
  const Tensor Gm = random_tensor(Shape{3, 5}, 12);
  Var a(c0.clone(), true), b(c1.clone(), true), p(p0.clone(), true);
  sum(mul(dfq_mix({a, b}, p, 1), Var(Gm))).backward();
  auto fd_check = [&](Var& v, const Tensor& base, int which) {
    for (int64_t i = 0; i < base.numel(); ++i) {
      Tensor up = base.clone(), dn = base.clone();
      up[i] += 0.01f;
      dn[i] -= 0.01f;
      auto loss = [&](const Tensor& t) {
        NoGradGuard ng;
        return dot(dfq_mix({Var(which == 0 ? t : c0), Var(which == 1 ? t : c1)}, Var(which == 2 ? t : p0), 1).value(), Gm);
      };
      CHECK(v.grad()[i] == doctest::Approx((loss(up) - loss(dn)) / 0.02).epsilon(1e-3));
    }
  };
  fd_check(a, c0, 0);
  fd_check(b, c1, 1);
  fd_check(p, p0, 2);
}

TEST_CASE("dfq rule: per-group fixed bits share one exact container, and the kernels agree with the fake path") {
  const Var w(random_tensor(Shape{6, 4, 3, 3}, 13, 0.5f), true);
  const std::vector<int> bits = {1, 3, 2};
  const Quantized q = dfq_group_weight(w, bits, 2);
  CHECK(q.codes.bits == 3);
  CHECK(q.codes.per_channel());
  const Tensor deq = q.codes.dequantize();
  for (int g = 0; g < 3; ++g) {
    const Tensor want = dorefa_weight(w, bits[size_t(g)]).value.value();
    for (int64_t i = g * 72; i < (g + 1) * 72; ++i) {
      REQUIRE(q.value.value()[i] == want[i]);
      REQUIRE(deq[i] == want[i]);
      REQUIRE(q.codes.code[size_t(i)] >= 0);
      REQUIRE(q.codes.code[size_t(i)] <= 7);
    }
  }
  // One group: exactly the rule, codes included.
  const Quantized one = dfq_group_weight(w, {4}, 0);
  const Quantized ref = dorefa_weight(w, 4);
  CHECK(one.codes.scale == ref.codes.scale);
  CHECK(one.codes.zero_point == ref.codes.zero_point);

  // A DFQ conv at per-group bits: kernel forward == fake forward.
  Rng rng(14);
  nn::Conv2dOptions o;
  o.in_channels = 4;
  o.out_channels = 6;
  o.kernel_h = o.kernel_w = 3;
  o.pad = 1;
  Precision p;
  p.scheme = Scheme::dorefa;
  p.wbits = 8;
  p.abits = 4;
  QConv2d base(o, p, QuantOptions{}, rng);
  DfqConv2d kernel(base), fake(base);
  fake.set_path(QPath::fake);
  Var v(Tensor::zeros(Shape{1}), true);
  kernel.set_search(v, DfqRelaxation::interpolate, 2, 8, 2);
  fake.set_search(v, DfqRelaxation::interpolate, 2, 8, 2);
  kernel.set_fixed_bits({1, 3, 2});
  fake.set_fixed_bits({1, 3, 2});
  CHECK(kernel.precision().wbits == 3);
  const Var x(random_tensor(Shape{2, 4, 7, 7}, 15).clone(), false);
  Tensor xin = x.value().clone();
  for (int64_t i = 0; i < xin.numel(); ++i) xin[i] = 0.5f + 0.5f * xin[i];
  const Tensor yk = kernel(Var(xin)).value(), yf = fake(Var(xin)).value();
  REQUIRE(kernel.last_backend().has_value());
  for (int64_t i = 0; i < yk.numel(); ++i) REQUIRE(yk[i] == doctest::Approx(yf[i]).epsilon(1e-4));
}

TEST_CASE("dfq: discretisation by ceil or round, clamped to the range") {
  DfqSettings s;
  s.b_min = 2;
  s.b_max = 6;
  CHECK(dfq_discretize(2.0f, s) == 2);
  CHECK(dfq_discretize(2.01f, s) == 3);
  CHECK(dfq_discretize(4.5f, s) == 5);
  CHECK(dfq_discretize(6.0f, s) == 6);
  CHECK(dfq_discretize(1.2f, s) == 2);
  s.round = true;
  CHECK(dfq_discretize(2.49f, s) == 2);
  CHECK(dfq_discretize(2.51f, s) == 3);
  CHECK(dfq_discretize(3.5f, s) == 4);  // half to even
  CHECK(dfq_discretize(4.5f, s) == 4);
  CHECK(dfq_discretize(5.9f, s) == 6);
}

TEST_CASE("dfq: settings round-trip and bad ranges, targets and lambda are clear errors") {
  const nlohmann::json j = DfqSettings{}.to_json();
  CHECK(DfqSettings::from_json(j).to_json() == j);
  CHECK(j.at("init_bits") == 8.0);
  CHECK(j.at("lambda") == 0.05);
  using J = nlohmann::json;
  auto err = [](const J& s) { return error_of([&] { DfqSettings::from_json(s); }); };
  CHECK(has(err(J{{"b_min", 5}, {"b_max", 3}}), "dfq.b_max must be greater than b_min"));
  CHECK(has(err(J{{"b_min", 0}}), "dfq.b_min must be in [1, 8]"));
  CHECK(has(err(J{{"b_max", 9}}), "dfq.b_max must be in [1, 8]"));
  CHECK(has(err(J{{"b_min", 2.5}}), "dfq.b_min must be an integer"));
  CHECK(has(err(J{{"target_bits", 1.5}}), "dfq.target_bits must be in [b_min, b_max] = [2, 8]"));
  CHECK(has(err(J{{"target_bits", 9}}), "dfq.target_bits must be in"));
  CHECK(has(err(J{{"lambda", -1}}), "dfq.lambda must be >= 0"));
  CHECK(has(err(J{{"lambda", 0}, {"target_bits", 3}}), "dfq.lambda must be > 0 with a target"));
  CHECK(has(err(J{{"init_bits", 9}}), "dfq.init_bits must be in [b_min, b_max]"));
  CHECK(has(err(J{{"relaxation", "gumbel"}}), "dfq.relaxation must be interpolate or softmax"));
  CHECK(has(err(J{{"discretize", "floor"}}), "dfq.discretize must be ceil or round"));
  CHECK(has(err(J{{"search_epochs", 0}}), "dfq.search_epochs must be >= 1"));
  CHECK(has(err(J{{"beta_lr", 0}}), "dfq.beta_lr must be > 0"));
  CHECK(has(err(J{{"group_channels", -2}}), "dfq.group_channels must be >= 0"));
  CHECK(has(err(J{{"bits", 3}}), "dfq: unknown setting 'bits'"));
  CHECK(err(J{{"b_min", 1}, {"b_max", 2}, {"target_bits", 1.5}}).empty());
}

namespace {

nn::TrainConfig tiny_config(int epochs) {
  nn::TrainConfig c;
  c.model = "lenet5";
  c.dataset = "mnist";
  c.epochs = epochs;
  c.batch_size = 32;
  c.optimizer = "sgd";
  c.lr = 0.05f;
  c.momentum = 0.9f;
  c.schedule = "cosine";
  c.seed = 5;
  c.threads = 1;
  return c;
}

QuantSpec w8a8q() {
  QuantSpec q;
  q.precision = PrecisionConfig::uniform(Scheme::dorefa, 8, 8, EdgePolicy::q);
  return q;
}

struct DfqRun {
  std::shared_ptr<nn::Module> model;
  PreparedMethod method;
  nn::TrainResult result;
};

struct Interrupted {};

// kill_after > 0: the run stops (as if killed) right after epoch kill_after's checkpoint is written.
DfqRun run_dfq(const fs::path& out, int epochs, bool resume, const nlohmann::json& settings, int kill_after = 0) {
  nn::ModelOptions mo;
  mo.seed = 5;
  const std::string ckpt = resume ? (out / "checkpoint.lbar").string() : "";
  BuiltModel b = build_run_model("lenet5", mo, w8a8q(), "", ckpt);
  DfqRun r;
  r.model = b.model;
  MethodSpec spec{"dfq", settings, ""};
  r.method = prepare_method(spec, *r.model, "lenet5", b.options, build_model_from_meta);
  nn::TrainerOptions to;
  to.out_dir = out.string();
  to.resume = resume;
  to.progress = nn::ProgressMode::quiet;
  to.model_options = b.options;
  to.extra_meta["quant"] = b.record;
  nn::Module* m = r.model.get();
  to.hooks.after_step = [m](int64_t) { after_optimizer_step(*m); };
  if (kill_after > 0)
    to.hooks.after_epoch = [kill_after](const nn::EpochMetrics& e) {
      if (e.epoch == kill_after) throw Interrupted{};
    };
  attach_method(r.method, to);
  nn::Trainer t(*r.model, tiny_config(epochs), to);
  const nn::ImageDataset train = test::synthetic_bars(96, 21, "bars-train");
  const nn::ImageDataset val = test::synthetic_bars(32, 22, "bars-val");
  try {
    r.result = t.fit(train, val);
  } catch (const Interrupted&) {
    REQUIRE(kill_after > 0);
  }
  return r;
}

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_dfq_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST_CASE("dfq: the search lowers beta under the target, then the fine-tune runs at the discretised bits") {
  const fs::path d = fresh_dir("search");
  const nlohmann::json settings = {{"target_bits", 3}, {"search_epochs", 1}, {"beta_lr", 0.5}, {"log_every", 1},
                                   {"discretize", "round"}};
  DfqRun r = run_dfq(d, 2, false, settings);
  auto* dfq = dynamic_cast<Dfq*>(r.method.method.get());
  REQUIRE(dfq != nullptr);
  CHECK_FALSE(dfq->searching());
  REQUIRE(dfq->layers().size() == 5);  // conv1, conv2, fc1, fc2, fc3 (first/last q: all searched)
  // The penalty pushed β down from 8 in proportion to each layer's weights: fc1 (most weights) moved most.
  const nlohmann::json state = dfq->state();
  const auto& traj = state.at("trajectory");
  REQUIRE(traj.size() >= 3);
  CHECK(traj.back()[2].get<double>() < traj.front()[2].get<double>());
  for (const auto& l : dfq->layers()) {
    const std::vector<int>& bits = l.layer->fixed_bits();
    REQUIRE(bits.size() == 1);
    CHECK(l.layer->quantized().precision().wbits == bits[0]);
    CHECK(bits[0] == dfq_discretize(l.var.value()[0], dfq->settings()));
  }
  // Files: the trajectory, the precision config (an ordinary one), model.lbar recording the found bits.
  CHECK(fs::exists(d / "beta.csv"));
  CHECK(fs::exists(d / "beta.gp"));
  const PrecisionConfig cfg = PrecisionConfig::from_file((d / "dfq_precision.json").string());
  for (const auto& l : dfq->layers())
    CHECK(cfg.resolve(l.name, l.name == "conv1", l.name == "fc3").wbits == l.layer->fixed_bits()[0]);
  const nn::LoadedModel lm = nn::load_trained_model((d / "model.lbar").string(), "lenet5", build_model_from_meta);
  for (const auto& l : dfq->layers()) {
    auto* q = dynamic_cast<QuantizedLayer*>(&lm.model->find(l.name));
    REQUIRE(q != nullptr);
    CHECK(q->precision().wbits == l.layer->fixed_bits()[0]);
  }
  // The loaded model computes what the trained one does (same layers, same weights).
  r.model->eval();
  lm.model->eval();
  NoGradGuard ng;
  const Tensor x = random_tensor(Shape{4, 1, 28, 28}, 31);
  const Tensor a = (*r.model)(Var(x)).value(), b = (*lm.model)(Var(x)).value();
  for (int64_t i = 0; i < a.numel(); ++i) CHECK(a[i] == b[i]);
  const nlohmann::json metrics = state.at("metrics");
  CHECK(metrics.at("avg_wbits").get<double>() > 0);
  CHECK(metrics.at("size_bytes").get<double>() > 0);
  fs::remove_all(d);
}

TEST_CASE("dfq: a run killed in the search or the fine-tune and resumed equals the straight run") {
  const std::pair<const char*, int> cases[] = {{"interpolate", 1}, {"softmax", 1}, {"interpolate", 2}};
  for (const auto& [relax, kill] : cases) {
    CAPTURE(relax);
    CAPTURE(kill);
    const nlohmann::json settings = {{"target_bits", 4},      {"search_epochs", 2},  {"beta_lr", 0.3},
                                     {"log_every", 2},        {"relaxation", relax}, {"group_channels", 4},
                                     {"discretize", "round"}};
    const fs::path a = fresh_dir(std::string("straight_") + relax), b = fresh_dir(std::string("killed_") + relax);
    run_dfq(a, 3, false, settings);
    run_dfq(b, 3, false, settings, kill);  // killed after epoch 1 (inside the search) or 2 (after the switch)
    run_dfq(b, 3, true, settings);
    const nn::Archive x = nn::read_archive((a / "checkpoint.lbar").string());
    const nn::Archive y = nn::read_archive((b / "checkpoint.lbar").string());
    REQUIRE(x.tensors.size() == y.tensors.size());
    for (size_t i = 0; i < x.tensors.size(); ++i) {
      CAPTURE(x.tensors[i].first);
      REQUIRE(x.tensors[i].first == y.tensors[i].first);
      const std::vector<float> u = x.tensors[i].second.to_vector(), v = y.tensors[i].second.to_vector();
      CHECK(u == v);
    }
    const nlohmann::json sx = x.meta.at("method_state"), sy = y.meta.at("method_state");
    CHECK(sx.at("phase") == "finetune");
    for (const char* k : {"phase", "vars", "optimizer", "trajectory", "bits", "last_step"}) {
      CAPTURE(k);
      CHECK(sx.at(k) == sy.at(k));
    }
    CHECK(x.meta.at("history").size() == 3);
    fs::remove_all(a);
    fs::remove_all(b);
  }
}

TEST_CASE("dfq: a model without DoReFa weight layers is refused with the reason") {
  nn::ModelOptions mo;
  auto plain = nn::make_model("lenet5", mo);
  Dfq dfq{DfqSettings{}};
  CHECK(has(error_of([&] { dfq.prepare(*plain, nullptr); }), "dfq: the model has no quantized weight layer to search"));
  QuantSpec lsq;
  lsq.precision = PrecisionConfig::uniform(Scheme::lsq, 4, 4, EdgePolicy::q);
  BuiltModel b = build_model("lenet5", mo, lsq);
  CHECK(has(error_of([&] { dfq.prepare(*b.model, nullptr); }), "quantizes its weights with lsq"));
  CHECK(has(error_of([&] { make_method("dfq", {{"b_min", 3}, {"b_max", 3}}); }), "dfq.b_max must be greater than b_min"));
}

TEST_CASE("dfq: allocation random draws widths in range whose average matches the target, per seed") {
  std::vector<std::vector<int>> seen;
  for (uint64_t seed : {1, 2}) {
    nn::ModelOptions mo;
    mo.seed = seed;
    BuiltModel b = build_model("lenet5", mo, w8a8q());
    Dfq dfq(DfqSettings::from_json({{"allocation", "random"}, {"target_bits", 3}, {"b_min", 1}, {"b_max", 8}}));
    dfq.prepare(*b.model, nullptr);
    CHECK_FALSE(dfq.searching());
    double bits = 0, n = 0;
    std::vector<int> all;
    for (const auto& l : dfq.layers()) {
      const int w = l.layer->fixed_bits()[0];
      CHECK(w >= 1);
      CHECK(w <= 8);
      CHECK(l.layer->quantized().precision().wbits == w);
      bits += double(w) * double(l.group_weights[0]);
      n += double(l.group_weights[0]);
      all.push_back(w);
    }
    CHECK(std::fabs(bits / n - 3.0) < 0.05);
    seen.push_back(all);
  }
  CHECK(seen[0] != seen[1]);
  CHECK(has(error_of([] { DfqSettings::from_json({{"allocation", "random"}}); }),
            "dfq.target_bits must be given for allocation random"));
}
