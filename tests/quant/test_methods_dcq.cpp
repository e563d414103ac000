// DCQ (quant/methods/dcq.h, nn/sections.h): the sections of every zoo model are valid, named and stitch back to
// the model bit for bit; a student initialised from the teacher reproduces the teacher exactly; phase-1 gradients
// reach only the trained section (never another section, never the teacher); a run killed mid-phase and resumed
// equals the straight run; bad section specs, settings and teachers are clear errors.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/archive.h"
#include "nn/sections.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/methods/dcq.h"
#include "quant/methods/run.h"
#include "quant/quantized_model.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;
using namespace lowbit;
using namespace lowbit::nn;
using namespace lowbit::quant;

namespace {
ModelOptions options(uint64_t seed, Activation act = Activation::relu, int classes = 10) {
  ModelOptions mo;
  mo.seed = seed;
  mo.activation = act;
  mo.num_classes = classes;
  return mo;
}

Tensor random_images(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(Shape{n, 1, 28, 28});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-1.0f, 1.0f);
  return t;
}

std::vector<float> flat_state(const Module& m) {
  std::vector<float> out;
  for (const auto& [name, t] : m.state_dict()) {
    const auto v = t.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// The quantized student of a run: DoReFa W1A2 (hidden activation clip(0,1)), first and last layers fp32.
std::shared_ptr<Module> dorefa_student(const std::string& model, uint64_t seed) {
  QuantSpec q;
  q.precision = PrecisionConfig::from_json({{"scheme", "dorefa"}, {"wbits", 1}, {"abits", 2}}, "test");
  return build_model(model, options(seed), q).model;
}

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_dcq_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void save_model(const fs::path& p, const std::string& model, const ModelOptions& mo) {
  auto m = make_model(model, mo);
  save_module(p.string(), *m, {{"model", model}, {"model_options", model_options_to_json(mo)}});
}

Dcq dcq(nlohmann::json settings = nlohmann::json::object()) { return Dcq(DcqSettings::from_json(settings)); }

// Which top-level section a parameter ("layer2.0.conv1.weight") belongs to.
size_t section_of(const Sequential& m, const std::vector<Section>& s, const std::string& param) {
  const size_t child = m.index_of(param.substr(0, param.find('.')));
  for (size_t i = 0; i < s.size(); ++i)
    if (child >= s[i].begin && child < s[i].end) return i;
  return s.size();
}

struct Interrupted {};
}  // namespace

TEST_CASE("dcq sections: every zoo model has valid, named default sections that stitch back bit for bit") {
  for (const std::string& name : model_names()) {
    CAPTURE(name);
    auto model = make_model(name, options(5));
    auto& seq = dynamic_cast<Sequential&>(*model);
    const std::vector<std::string> b = default_section_boundaries(seq);
    REQUIRE(!b.empty());
    const std::vector<Section> s = make_sections(seq, b);
    REQUIRE(s.size() == b.size() + 1);
    size_t next = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      CHECK(s[i].begin == next);  // contiguous, non-empty, covering every child
      CHECK(s[i].end > s[i].begin);
      next = s[i].end;
      if (i + 1 < s.size()) {
        CHECK(s[i].output == b[i]);
        CHECK(seq.children()[s[i].end - 1].first == b[i]);
      } else {
        CHECK(s[i].output.empty());
      }
    }
    CHECK(next == seq.size());
    model->eval();
    NoGradGuard ng;
    const Var x(random_images(2, 7));
    CHECK(run_sections(seq, x, s).value().to_vector() == (*model)(x).value().to_vector());
  }
  auto lenet = make_model("lenet5", options(1));
  CHECK(default_section_boundaries(dynamic_cast<Sequential&>(*lenet)) == std::vector<std::string>{"pool2"});
  auto resnet = make_model("resnet20", options(1));
  CHECK(default_section_boundaries(dynamic_cast<Sequential&>(*resnet)) ==
        std::vector<std::string>{"layer1", "layer2", "layer3"});
  auto vgg = make_model("vgg_small", options(1));
  CHECK(default_section_boundaries(dynamic_cast<Sequential&>(*vgg)) ==
        std::vector<std::string>{"pool1", "pool2", "pool3", "pool4"});
}

TEST_CASE("dcq sections: bad specs are clear errors") {
  auto model = make_model("lenet5", options(1));
  auto& seq = dynamic_cast<Sequential&>(*model);
  CHECK(parse_section_spec("auto").empty());
  CHECK(parse_section_spec(" pool1 , pool2 ") == std::vector<std::string>{"pool1", "pool2"});
  CHECK_THROWS_WITH_AS(parse_section_spec("pool1,,pool2"), doctest::Contains("empty boundary name"), Error);
  CHECK_THROWS_WITH_AS(make_sections(seq, {"pool9"}),
                       doctest::Contains("'pool9' is not a top-level module of model 'LeNet5' (boundaries are: conv1"),
                       Error);
  CHECK_THROWS_WITH_AS(make_sections(seq, {"pool2", "pool1"}),
                       doctest::Contains("boundary 'pool1' comes before 'pool2'"), Error);
  CHECK_THROWS_WITH_AS(make_sections(seq, {"pool1", "pool1"}), doctest::Contains("'pool1' is named twice"), Error);
  CHECK_THROWS_WITH_AS(make_sections(seq, {"fc3"}), doctest::Contains("empty last section"), Error);
  CHECK_THROWS_WITH_AS(make_sections(seq, {}), doctest::Contains("no boundary given"), Error);
  // Through the method: the field is named.
  auto teacher = make_model("lenet5", options(2));
  Dcq bad = dcq({{"sections", "pool2,conv9"}});
  CHECK_THROWS_WITH_AS(bad.prepare(*model, teacher.get()),
                       doctest::Contains("dcq.sections 'pool2,conv9': sections: 'conv9' is not a top-level module"),
                       Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"sections", "a,,b"}}), doctest::Contains("empty boundary name"), Error);
}

TEST_CASE("dcq settings: defaults round-trip, every bad field is named") {
  const DcqSettings d = DcqSettings::from_json(nlohmann::json::object());
  CHECK(d.to_json() == nlohmann::json{{"sections", "auto"},         {"loss", "mse"},  {"huber_delta", 0.4},
                                      {"last_loss", "ce"},          {"kd_temperature", 4.0}, {"kd_alpha", 0.9},
                                      {"phase1_epochs", 0},         {"teacher_activation", "same"}});
  CHECK(DcqSettings::from_json(d.to_json()).to_json() == d.to_json());
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"loss", "l3"}}),
                       doctest::Contains("dcq.loss must be one of mse, l1, huber, got 'l3'"), Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"last_loss", "mse"}}), doctest::Contains("dcq.last_loss must be"),
                       Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"huber_delta", 0}}), doctest::Contains("dcq.huber_delta must be > 0"),
                       Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"kd_alpha", 2}}), doctest::Contains("dcq.kd_alpha must be in [0, 1]"),
                       Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"phase1_epochs", -1}}), doctest::Contains("dcq.phase1_epochs must be >= 0"),
                       Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"phase1_epochs", 1.5}}),
                       doctest::Contains("dcq.phase1_epochs must be an integer"), Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"loss", 3}}), doctest::Contains("dcq.loss must be a string"), Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"teacher_activation", "relu"}}),
                       doctest::Contains("dcq.teacher_activation must be one of same, bound, any"), Error);
  CHECK_THROWS_WITH_AS(DcqSettings::from_json({{"sectoins", "pool2"}}), doctest::Contains("unknown setting 'sectoins'"),
                       Error);
}

TEST_CASE("dcq: a student whose sections equal the teacher's reproduces the teacher's outputs exactly") {
  for (const std::string name : {"lenet5", "resnet8", "vgg_small"}) {
    CAPTURE(name);
    auto teacher = make_model(name, options(11));
    auto student = make_model(name, options(12));  // other weights until prepare copies the teacher's
    Dcq m = dcq();
    m.prepare(*student, teacher.get());
    teacher->eval();
    student->eval();
    NoGradGuard ng;
    const Var x(random_images(3, 13));
    // The stitched student (its own forward, and section by section) is the teacher.
    CHECK(run_sections(dynamic_cast<Sequential&>(*student), x, m.sections()).value().to_vector() ==
          (*teacher)(x).value().to_vector());
    CHECK((*student)(x).value().to_vector() == (*teacher)(x).value().to_vector());
    // Phase 1: each section on the teacher's input gives the teacher's section output.
    FeatureTaps taps(*teacher, m.teacher_taps(), TapMode::always);
    const Var tl = (*teacher)(x);
    Batch b;
    b.images = x.value();
    b.labels.assign(3, 0);
    m.train_forward(b, tl, taps);
    REQUIRE(m.section_outputs().size() == m.sections().size());
    for (size_t i = 0; i + 1 < m.sections().size(); ++i)
      CHECK(m.section_outputs()[i].value().to_vector() == taps.get(m.sections()[i].output).value().to_vector());
    CHECK(m.section_outputs().back().value().to_vector() == tl.value().to_vector());
  }
}

TEST_CASE("dcq: phase-1 gradients reach only the trained section, never the teacher") {
  auto teacher = make_model("lenet5", options(21, Activation::clip01));
  auto student = dorefa_student("lenet5", 22);
  Dcq m = dcq({{"sections", "pool1,pool2"}});  // three sections: conv1 | conv2 | fc
  m.prepare(*student, teacher.get());
  auto& seq = dynamic_cast<Sequential&>(*student);
  REQUIRE(m.sections().size() == 3);
  teacher->eval();
  teacher->set_requires_grad(false);
  FeatureTaps taps(*teacher, m.teacher_taps(), TapMode::always);
  const ImageDataset data = lowbit::test::synthetic_bars(16, 23, "syn");
  Batch b;
  b.images = Tensor::empty(Shape{16, 1, 28, 28});
  for (int64_t i = 0; i < b.images.numel(); ++i) b.images[i] = data.pixels[i] / 255.0f;
  b.labels = data.labels;
  for (size_t k = 0; k < m.sections().size(); ++k) {
    CAPTURE(k);
    student->zero_grad();
    taps.clear();
    Var tl;
    {
      NoGradGuard ng;
      tl = (*teacher)(Var(b.images));
    }
    FeatureTaps none;
    const Var logits = m.train_forward(b, tl, taps);
    m.loss(StepInputs{b, logits, none, tl, taps, 0.0f, 0});
    REQUIRE(m.section_losses().size() == 3);
    CHECK(m.section_losses()[k].value().item() > 0.0f);
    Var lk = m.section_losses()[k];
    lk.backward();
    int reached = 0;
    for (const auto& [name, p] : student->named_parameters()) {
      CAPTURE(name);
      bool nonzero = false;
      if (p.has_grad())
        for (float g : p.grad().to_vector()) nonzero |= g != 0.0f;
      if (section_of(seq, m.sections(), name) == k) {
        reached += nonzero;
      } else {
        CHECK(!nonzero);
      }
    }
    CHECK(reached > 0);
    for (const auto& [name, p] : teacher->named_parameters()) {
      CAPTURE(name);
      CHECK(!p.has_grad());
    }
  }
}

TEST_CASE("dcq: a teacher whose activations differ from the student's is refused unless allowed") {
  auto relu_teacher = make_model("lenet5", options(31));
  auto student = dorefa_student("lenet5", 32);
  Dcq m = dcq();
  CHECK_THROWS_WITH_AS(m.prepare(*student, relu_teacher.get()),
                       doctest::Contains("dcq: the teacher's activation 'act1' is ReLU, the student's is Clip [0, 1]"),
                       Error);
  Dcq any = dcq({{"teacher_activation", "any"}});
  CHECK_NOTHROW(any.prepare(*student, relu_teacher.get()));
  // "bound": the ReLU teacher's boundary activations clipped to the student's clip(0,1) range, as target and
  // as the next section's input.
  Dcq bound = dcq({{"teacher_activation", "bound"}});
  bound.prepare(*student, relu_teacher.get());
  relu_teacher->eval();
  FeatureTaps taps(*relu_teacher, bound.teacher_taps(), TapMode::always);
  Batch b;
  b.images = random_images(4, 33);
  for (int64_t i = 0; i < b.images.numel(); ++i) b.images[i] *= 3.0f;
  b.labels.assign(4, 1);
  Var tl;
  {
    NoGradGuard ng;
    tl = (*relu_teacher)(Var(b.images));
  }
  const Var logits = bound.train_forward(b, tl, taps);
  FeatureTaps none;
  bound.loss(StepInputs{b, logits, none, tl, taps, 0.0f, 0});
  const std::vector<float> raw = taps.get("pool2").value().to_vector();
  REQUIRE(*std::max_element(raw.begin(), raw.end()) > 1.0f);  // the ReLU teacher does exceed the range
  double expected = 0;
  // The section-1 loss is the MSE against clip(teacher, 0, 1); recompute it from the student's own output.
  {
    NoGradGuard ng;
    const Var s1 = dynamic_cast<Sequential&>(*student).forward_range(Var(b.images), bound.sections()[0].begin,
                                                                     bound.sections()[0].end);
    const std::vector<float> sv = s1.value().to_vector();
    for (size_t i = 0; i < sv.size(); ++i) {
      const double d = sv[i] - std::min(1.0f, std::max(0.0f, raw[i]));
      expected += d * d;
    }
    expected /= static_cast<double>(sv.size());
  }
  CHECK(bound.section_losses()[0].value().item() == doctest::Approx(expected).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(m.prepare(*student, nullptr), doctest::Contains("dcq: sectional distillation needs a teacher"),
                       Error);
  auto resnet = make_model("resnet8", options(1));
  CHECK_THROWS_WITH_AS(m.prepare(*student, resnet.get()), doctest::Contains("the teacher is a 'ResNet8', the student a 'LeNet5'"),
                       Error);
}

TEST_CASE("dcq: a missing teacher or a teacher of another architecture is a clear error through prepare_method") {
  const fs::path dir = fresh_dir("errors");
  auto student = make_model("lenet5", options(1));
  const ModelOptions mo = options(1);
  CHECK_THROWS_WITH_AS(prepare_method(MethodSpec{"dcq", nlohmann::json::object(), ""}, *student, "lenet5", mo, {}),
                       doctest::Contains("method 'dcq' needs a teacher model file"), Error);
  CHECK_THROWS_WITH_AS(
      prepare_method(MethodSpec{"dcq", nlohmann::json::object(), (dir / "nope.lbar").string()}, *student, "lenet5", mo,
                     {}),
      doctest::Contains("nope.lbar' does not exist (method 'dcq')"), Error);
  save_model(dir / "resnet.lbar", "resnet8", options(1));
  CHECK_THROWS_WITH_AS(
      prepare_method(MethodSpec{"dcq", nlohmann::json::object(), (dir / "resnet.lbar").string()}, *student, "lenet5",
                     mo, {}),
      doctest::Contains("is a 'resnet8', but method 'dcq' needs a teacher of the student's architecture 'lenet5'"),
      Error);
  fs::remove_all(dir);
}

TEST_CASE("dcq: phase 1 then phase 2, and a run killed mid-phase and resumed equals the straight run") {
  const ImageDataset train = lowbit::test::synthetic_bars(96, 41, "syn/train");
  const ImageDataset val = lowbit::test::synthetic_bars(32, 42, "syn/val");
  TrainConfig cfg;
  cfg.model = "lenet5";
  cfg.dataset = "mnist";
  cfg.epochs = 3;
  cfg.batch_size = 32;
  cfg.lr = 0.05f;
  cfg.seed = 4;
  const ModelOptions mo = options(cfg.seed, Activation::clip01);
  const fs::path dir = fresh_dir("resume");
  const fs::path teacher = dir / "teacher.lbar";
  save_model(teacher, "lenet5", options(77, Activation::clip01));
  const MethodSpec spec{"dcq", {{"phase1_epochs", 2}, {"last_loss", "kd"}}, teacher.string()};

  auto run = [&](const std::string& out, std::shared_ptr<Module> student, bool resume, int stop_after,
                 std::vector<bool>* phases) {
    PreparedMethod pm = prepare_method(spec, *student, "lenet5", mo, build_model_from_meta);
    TrainerOptions o;
    o.out_dir = (dir / out).string();
    o.progress = ProgressMode::quiet;
    o.model_options = mo;
    o.resume = resume;
    Dcq* m = dynamic_cast<Dcq*>(pm.method.get());
    o.hooks.after_step = [m, phases](int64_t) {
      if (phases) phases->push_back(m->in_phase1());
    };
    if (stop_after > 0)
      o.hooks.after_epoch = [stop_after](const EpochMetrics& e) {
        if (e.epoch == stop_after) throw Interrupted{};
      };
    attach_method(pm, o);
    return Trainer(*student, cfg, o).fit(train, val);
  };
  auto a = dorefa_student("lenet5", cfg.seed);
  std::vector<bool> phases;
  const TrainResult ra = run("straight", a, false, 0, &phases);
  // 3 steps per epoch: two epochs of phase 1, then one of phase 2.
  CHECK(phases == std::vector<bool>{true, true, true, true, true, true, false, false, false});

  CHECK_THROWS_AS(run("resumed", dorefa_student("lenet5", cfg.seed), false, 1, nullptr), Interrupted);
  auto c = dorefa_student("lenet5", 999);
  const TrainResult rc = run("resumed", c, true, 0, nullptr);
  CHECK(rc.start_epoch == 1);
  CHECK(flat_state(*a) == flat_state(*c));
  CHECK(ra.history.back().train_loss == rc.history.back().train_loss);
  const nlohmann::json rec = read_archive((dir / "resumed" / "model.lbar").string()).meta.at("method");
  CHECK(rec.at("name") == "dcq");
  CHECK(rec.at("settings").at("phase1_epochs") == 2);
  fs::remove_all(dir);
}

TEST_CASE("dcq: phase 1 trains each section toward its teacher section output") {
  const ImageDataset train = lowbit::test::synthetic_bars(128, 51, "syn/train");
  const ImageDataset val = lowbit::test::synthetic_bars(32, 52, "syn/val");
  TrainConfig cfg;
  cfg.model = "lenet5";
  cfg.dataset = "mnist";
  cfg.epochs = 2;
  cfg.batch_size = 32;
  cfg.lr = 0.02f;
  cfg.seed = 5;
  auto teacher = make_model("lenet5", options(53, Activation::clip01));
  auto student = dorefa_student("lenet5", cfg.seed);
  PreparedMethod pm;
  pm.method = std::make_unique<Dcq>(DcqSettings::from_json({{"sections", "pool1,pool2"}}));
  pm.teacher = teacher;
  pm.record = {{"name", "dcq"}, {"settings", pm.method->to_json()}};
  pm.method->prepare(*student, teacher.get());
  Dcq* m = dynamic_cast<Dcq*>(pm.method.get());
  std::vector<std::vector<float>> per_step;
  TrainerOptions o;
  o.progress = ProgressMode::quiet;
  attach_method(pm, o);
  o.hooks.after_step = [m, &per_step](int64_t) {
    std::vector<float> l;
    for (const Var& v : m->section_losses()) l.push_back(v.value().item());
    per_step.push_back(l);
  };
  Trainer(*student, cfg, o).fit(train, val);
  REQUIRE(per_step.size() == 8);
  // The regression losses of the two quantized sections fall from the first step's to the last's.
  for (size_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(per_step.back()[k] < per_step.front()[k]);
  }
}
