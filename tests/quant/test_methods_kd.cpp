// Training methods (quant/methods): the registry, knowledge distillation's loss against a direct formula, KD with
// α = 0 equal to plain training, a KD run killed and resumed equal to the straight run, and clear errors for a
// missing, mismatched or changed teacher.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/archive.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/methods/kd.h"
#include "quant/methods/method.h"
#include "quant/methods/run.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;
using namespace lowbit;
using namespace lowbit::nn;
using namespace lowbit::quant;

namespace {
ImageDataset synthetic(int64_t n, uint64_t seed, const std::string& name) {
  return lowbit::test::synthetic_bars(n, seed, name);
}

TrainConfig config() {
  TrainConfig c;
  c.model = "lenet5";
  c.dataset = "mnist";
  c.epochs = 2;
  c.batch_size = 32;
  c.optimizer = "sgd";
  c.lr = 0.05f;
  c.momentum = 0.9f;
  c.schedule = "cosine";
  c.seed = 3;
  c.dropout = 0.25f;
  return c;
}

ModelOptions model_options(uint64_t seed, int classes = 10) {
  ModelOptions mo;
  mo.seed = seed;
  mo.dropout = 0.25f;
  mo.num_classes = classes;
  return mo;
}

TrainerOptions quiet(const std::string& out, const ModelOptions& mo) {
  TrainerOptions o;
  o.out_dir = out;
  o.progress = ProgressMode::quiet;
  o.model_options = mo;
  return o;
}

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_kd_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A model file the way a finished run writes it (nn::load_trained_model reads it).
void save_teacher(const fs::path& p, const std::string& model, const ModelOptions& mo) {
  auto m = make_model(model, mo);
  save_module(p.string(), *m, {{"model", model}, {"model_options", model_options_to_json(mo)}});
}

std::vector<float> flat_state(const Module& m) {
  std::vector<float> out;
  for (const auto& [name, t] : m.state_dict()) {
    const auto v = t.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

MethodSpec kd_spec(const fs::path& teacher, double alpha, double temperature = 4.0) {
  return MethodSpec{"kd", {{"alpha", alpha}, {"temperature", temperature}}, teacher.string()};
}

struct Interrupted {};
}  // namespace

TEST_CASE("methods: the table names kd, settings round-trip, bad names and settings are clear errors") {
  CHECK(std::string(method_row("kd").name) == "kd");
  CHECK(method_row("kd").needs_teacher);
  CHECK_THROWS_WITH_AS(method_row("dcqq"), doctest::Contains("unknown training method 'dcqq' (known: kd"), Error);
  for (const MethodRow& r : method_table()) {
    CAPTURE(r.name);
    auto m = make_method(r.name, nlohmann::json::object());  // defaults are valid
    CHECK(m->name() == r.name);
    auto again = make_method(r.name, m->to_json());  // the record rebuilds the same method
    CHECK(again->to_json() == m->to_json());
  }
  auto kd = make_method("kd", {{"temperature", 2.5}});
  CHECK(kd->to_json() == nlohmann::json{{"temperature", 2.5}, {"alpha", 0.9}});
  CHECK_THROWS_WITH_AS(make_method("kd", {{"temperature", 0}}), doctest::Contains("kd.temperature must be > 0"), Error);
  CHECK_THROWS_WITH_AS(make_method("kd", {{"alpha", 1.5}}), doctest::Contains("kd.alpha must be in [0, 1], got 1.5"),
                       Error);
  CHECK_THROWS_WITH_AS(make_method("kd", {{"alpah", 0.5}}), doctest::Contains("unknown setting 'alpah'"), Error);
  CHECK_THROWS_WITH_AS(make_method("kd", {{"alpha", "x"}}), doctest::Contains("kd.alpha must be a number"), Error);
}

TEST_CASE("kd: loss value and gradient equal the direct formula on small logits") {
  const int64_t N = 3, C = 4;
  const float T = 2.5f, A = 0.7f;
  Rng rng(12);
  Tensor s = Tensor::empty(Shape{N, C}), t = Tensor::empty(Shape{N, C});
  for (int64_t i = 0; i < N * C; ++i) {
    s[i] = rng.uniform(-3.0f, 3.0f);
    t[i] = rng.uniform(-3.0f, 3.0f);
  }
  const std::vector<int32_t> labels{2, 0, 3};
  Var sv(s.clone(), true);
  const Var tv(t.clone());
  Batch b;
  b.images = Tensor::zeros(Shape{N, 1, 1, 1});
  b.labels = labels;
  FeatureTaps none;
  KnowledgeDistillation kd(T, A);
  Var loss = kd.loss(StepInputs{b, sv, none, tv, none, 0.0f, 0});
  loss.backward();

  // loss = (1−A)·mean_n(−log softmax(s)_y) + A·T²·mean_n Σ_c p_t (log p_t − log p_s), p = softmax(·/T);
  // d/ds = (1−A)(softmax(s) − onehot)/N + A·T·(softmax(s/T) − softmax(t/T))/N.
  auto softmax_row = [&](const Tensor& x, int64_t n, double temp) {
    std::vector<double> p(C);
    double mx = -1e30, z = 0;
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, double(x[n * C + c]) / temp);
    for (int64_t c = 0; c < C; ++c) z += p[c] = std::exp(double(x[n * C + c]) / temp - mx);
    for (double& v : p) v /= z;
    return p;
  };
  double ce = 0, kl = 0;
  std::vector<double> grad(N * C);
  for (int64_t n = 0; n < N; ++n) {
    const auto p1 = softmax_row(s, n, 1.0), ps = softmax_row(s, n, T), pt = softmax_row(t, n, T);
    ce -= std::log(p1[labels[n]]);
    for (int64_t c = 0; c < C; ++c) {
      kl += pt[c] * (std::log(pt[c]) - std::log(ps[c]));
      grad[n * C + c] = (1 - A) * (p1[c] - (c == labels[n])) / N + A * T * (ps[c] - pt[c]) / N;
    }
  }
  const double expected = (1 - A) * ce / N + A * T * T * kl / N;
  CHECK(loss.value().item() == doctest::Approx(expected).epsilon(1e-5));
  for (int64_t i = 0; i < N * C; ++i) {
    CAPTURE(i);
    CHECK(sv.grad()[i] == doctest::Approx(grad[i]).epsilon(1e-4).scale(1e-3));
  }
}

TEST_CASE("kd: alpha = 0 trains exactly as plain training (weights bit for bit)") {
  const ImageDataset train = synthetic(128, 31, "syn/train"), val = synthetic(32, 32, "syn/val");
  const TrainConfig cfg = config();
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("alpha0");
  save_teacher(dir / "teacher.lbar", "lenet5", model_options(99));

  auto plain = make_model(cfg.model, mo);
  Trainer(*plain, cfg, quiet("", mo)).fit(train, val);

  auto student = make_model(cfg.model, mo);
  PreparedMethod pm = prepare_method(kd_spec(dir / "teacher.lbar", 0.0), *student, cfg.model, mo, {});
  TrainerOptions o = quiet("", mo);
  attach_method(pm, o);
  Trainer(*student, cfg, o).fit(train, val);
  CHECK(flat_state(*plain) == flat_state(*student));

  // With alpha > 0 the teacher does change the result.
  auto distilled = make_model(cfg.model, mo);
  PreparedMethod pm2 = prepare_method(kd_spec(dir / "teacher.lbar", 0.5), *distilled, cfg.model, mo, {});
  TrainerOptions o2 = quiet("", mo);
  attach_method(pm2, o2);
  Trainer(*distilled, cfg, o2).fit(train, val);
  CHECK(flat_state(*plain) != flat_state(*distilled));
  fs::remove_all(dir);
}

TEST_CASE("kd: a run killed after epoch 1 and resumed equals the straight run, the record is in every file") {
  const ImageDataset train = synthetic(128, 33, "syn/train"), val = synthetic(32, 34, "syn/val");
  const TrainConfig cfg = config();
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("resume");
  const fs::path teacher = dir / "teacher.lbar";
  save_teacher(teacher, "lenet5", model_options(98));
  const MethodSpec spec = kd_spec(teacher, 0.9);

  auto a = make_model(cfg.model, mo);
  PreparedMethod pa = prepare_method(spec, *a, cfg.model, mo, {});
  TrainerOptions oa = quiet((dir / "straight").string(), mo);
  attach_method(pa, oa);
  const TrainResult ra = Trainer(*a, cfg, oa).fit(train, val);

  {
    auto b = make_model(cfg.model, mo);
    PreparedMethod pb = prepare_method(spec, *b, cfg.model, mo, {});
    TrainerOptions ob = quiet((dir / "resumed").string(), mo);
    attach_method(pb, ob);
    ob.hooks.after_epoch = [](const EpochMetrics& m) {
      if (m.epoch == 1) throw Interrupted{};
    };
    CHECK_THROWS_AS(Trainer(*b, cfg, ob).fit(train, val), Interrupted);
  }
  const nlohmann::json rec = read_archive((dir / "resumed" / "checkpoint.lbar").string()).meta.at("method");
  CHECK(rec.at("name") == "kd");
  CHECK(rec.at("settings") == nlohmann::json{{"temperature", 4.0}, {"alpha", 0.9}});
  CHECK(rec.at("teacher").at("crc32") == fmt::format("{:08x}", archive_crc32(teacher.string())));
  CHECK(rec.at("teacher").at("model") == "lenet5");

  // A fresh process: other initial weights, the teacher moved to another path (same bytes: allowed).
  fs::copy_file(teacher, dir / "moved.lbar");
  auto c = make_model(cfg.model, model_options(1234));
  PreparedMethod pc = prepare_method(kd_spec(dir / "moved.lbar", 0.9), *c, cfg.model, mo, {});
  TrainerOptions oc = quiet((dir / "resumed").string(), mo);
  oc.resume = true;
  attach_method(pc, oc);
  const TrainResult rc = Trainer(*c, cfg, oc).fit(train, val);
  CHECK(rc.start_epoch == 1);
  CHECK(flat_state(*a) == flat_state(*c));
  CHECK(ra.history.back().train_loss == rc.history.back().train_loss);
  CHECK(read_archive((dir / "straight" / "model.lbar").string()).meta.at("method").at("name") == "kd");
  fs::remove_all(dir);
}

TEST_CASE("kd: a missing, foreign or changed teacher is a clear error") {
  const ImageDataset train = synthetic(64, 35, "syn/train"), val = synthetic(32, 36, "syn/val");
  TrainConfig cfg = config();
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("errors");
  auto student = make_model(cfg.model, mo);

  CHECK_THROWS_WITH_AS(prepare_method(kd_spec(dir / "nope.lbar", 0.5), *student, cfg.model, mo, {}),
                       doctest::Contains("nope.lbar' does not exist (method 'kd')"), Error);
  CHECK_THROWS_WITH_AS(prepare_method(MethodSpec{"kd", nlohmann::json::object(), ""}, *student, cfg.model, mo, {}),
                       doctest::Contains("method 'kd' needs a teacher model file"), Error);
  save_teacher(dir / "resnet.lbar", "resnet8", model_options(1));
  CHECK_THROWS_WITH_AS(prepare_method(kd_spec(dir / "resnet.lbar", 0.5), *student, cfg.model, mo, {}),
                       doctest::Contains("is a 'resnet8', but method 'kd' needs a teacher of the student's "
                                         "architecture 'lenet5'"),
                       Error);
  save_teacher(dir / "five.lbar", "lenet5", model_options(1, 5));
  CHECK_THROWS_WITH_AS(prepare_method(kd_spec(dir / "five.lbar", 0.5), *student, cfg.model, mo, {}),
                       doctest::Contains("five.lbar' has 5 classes, the student 10"), Error);

  // Resume with a teacher whose bytes changed: refused, naming both checksums.
  cfg.epochs = 1;
  const fs::path teacher = dir / "teacher.lbar";
  save_teacher(teacher, "lenet5", model_options(2));
  const std::string crc_before = fmt::format("{:08x}", archive_crc32(teacher.string()));
  {
    PreparedMethod pm = prepare_method(kd_spec(teacher, 0.5), *student, cfg.model, mo, {});
    TrainerOptions o = quiet((dir / "run").string(), mo);
    attach_method(pm, o);
    Trainer(*student, cfg, o).fit(train, val);
  }
  save_teacher(teacher, "lenet5", model_options(3));
  const std::string crc_after = fmt::format("{:08x}", archive_crc32(teacher.string()));
  REQUIRE(crc_before != crc_after);
  cfg.epochs = 2;
  PreparedMethod pm = prepare_method(kd_spec(teacher, 0.5), *student, cfg.model, mo, {});
  TrainerOptions o = quiet((dir / "run").string(), mo);
  o.resume = true;
  attach_method(pm, o);
  const std::string expected = fmt::format("checkpoint teacher '{}' CRC-32 {}, now '{}' CRC-32 {}", teacher.string(),
                                           crc_before, teacher.string(), crc_after);
  CHECK_THROWS_WITH_AS(Trainer(*student, cfg, o).fit(train, val), doctest::Contains(expected.c_str()), Error);
  // Other settings, or no method at all, are refused too.
  PreparedMethod other = prepare_method(kd_spec(teacher, 0.25), *student, cfg.model, mo, {});
  TrainerOptions o2 = quiet((dir / "run").string(), mo);
  o2.resume = true;
  attach_method(other, o2);
  CHECK_THROWS_WITH_AS(Trainer(*student, cfg, o2).fit(train, val), doctest::Contains("method 'kd' settings differ"),
                       Error);
  TrainerOptions o3 = quiet((dir / "run").string(), mo);
  o3.resume = true;
  CHECK_THROWS_WITH_AS(Trainer(*student, cfg, o3).fit(train, val), doctest::Contains("trained with method"), Error);
  fs::remove_all(dir);
}

TEST_CASE("methods: the teacher checksum is the CRC-32 the archive records, and differs between models") {
  const fs::path dir = fresh_dir("crc");
  save_teacher(dir / "a.lbar", "lenet5", model_options(1));
  save_teacher(dir / "b.lbar", "lenet5", model_options(2));
  auto trailer = [](const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(b.size() > 4);
    const size_t n = b.size();
    return uint32_t(b[n - 4]) | uint32_t(b[n - 3]) << 8 | uint32_t(b[n - 2]) << 16 | uint32_t(b[n - 1]) << 24;
  };
  CHECK(archive_crc32((dir / "a.lbar").string()) == trailer(dir / "a.lbar"));
  CHECK(archive_crc32((dir / "b.lbar").string()) == trailer(dir / "b.lbar"));
  CHECK(archive_crc32((dir / "a.lbar").string()) != archive_crc32((dir / "b.lbar").string()));
  CHECK_THROWS_WITH_AS(archive_crc32((dir / "none.lbar").string()), doctest::Contains("cannot read"), Error);
  fs::remove_all(dir);
}

namespace {
// A method with state that evolves (as a bit-width search's would): it counts steps and epochs.
class Counting final : public Method {
 public:
  std::string name() const override { return "counting"; }
  void prepare(nn::Module&, nn::Module*) override {}
  Var loss(const StepInputs& s) override { return cross_entropy(s.logits, s.batch.labels); }
  void after_step(int64_t) override { ++steps; }
  void before_epoch(int) override { ++epochs_started; }
  void after_epoch(const EpochMetrics&) override { ++epochs_done; }
  nlohmann::json to_json() const override { return nlohmann::json::object(); }
  nlohmann::json state() const override { return {{"steps", steps}, {"epochs_done", epochs_done}}; }
  void load_state(const nlohmann::json& j) override {
    steps = j.at("steps").get<int64_t>();
    epochs_done = j.at("epochs_done").get<int>();
  }
  int64_t steps = 0;
  int epochs_started = 0, epochs_done = 0;
};
}  // namespace

TEST_CASE("methods: a method's state is saved in each checkpoint and restored by a resume, epoch hooks run") {
  const ImageDataset train = synthetic(64, 37, "syn/train"), val = synthetic(32, 38, "syn/val");
  const TrainConfig cfg = config();  // 2 epochs of 2 steps
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("state");
  auto prepared = [] {
    PreparedMethod pm;
    pm.method = std::make_unique<Counting>();
    pm.record = {{"name", "counting"}, {"settings", nlohmann::json::object()}};
    return pm;
  };
  {
    auto m = make_model(cfg.model, mo);
    PreparedMethod pm = prepared();
    TrainerOptions o = quiet(dir.string(), mo);
    o.hooks.after_epoch = [](const EpochMetrics& e) {
      if (e.epoch == 1) throw Interrupted{};
    };
    attach_method(pm, o);
    CHECK_THROWS_AS(Trainer(*m, cfg, o).fit(train, val), Interrupted);
    CHECK(static_cast<Counting&>(*pm.method).steps == 2);
    CHECK(static_cast<Counting&>(*pm.method).epochs_started == 1);
  }
  auto m = make_model(cfg.model, mo);
  PreparedMethod pm = prepared();
  TrainerOptions o = quiet(dir.string(), mo);
  o.resume = true;
  attach_method(pm, o);
  Trainer(*m, cfg, o).fit(train, val);
  const auto& c = static_cast<Counting&>(*pm.method);
  CHECK(c.steps == 4);        // 2 restored + 2 new
  CHECK(c.epochs_started == 1);
  CHECK(c.epochs_done == 1);  // the interrupted run's after_epoch threw before the method's ran; 0 restored + 1
  CHECK(read_archive((dir / "checkpoint.lbar").string()).meta.at("method_state").at("steps") == 4);
  fs::remove_all(dir);
}
