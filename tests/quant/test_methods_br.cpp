// Block-replacement guided QAT (quant/methods/block_replacement.h): settings and defaults, the blocks of the
// zoo models, BR with λ = 0 equal to plain QAT bit for bit, the mixed models' outputs equal to a composition
// built by hand from the two models' sections, no gradient and no change reaching the teacher, a run killed and
// resumed equal to the straight run, and clear errors for bad settings and teachers.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/archive.h"
#include "nn/layers/sequential.h"
#include "nn/taps.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/factory.h"
#include "quant/methods/block_replacement.h"
#include "quant/methods/method.h"
#include "quant/methods/run.h"
#include "quant/training.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;
using namespace lowbit;
using namespace lowbit::nn;
using namespace lowbit::quant;

namespace {
TrainConfig config(const std::string& model = "lenet5") {
  TrainConfig c;
  c.model = model;
  c.dataset = "mnist";
  c.epochs = 2;
  c.batch_size = 32;
  c.optimizer = "sgd";
  c.lr = 0.05f;
  c.momentum = 0.9f;
  c.schedule = "cosine";
  c.seed = 5;
  return c;
}

ModelOptions model_options(uint64_t seed, int classes = 10) {
  ModelOptions mo;
  mo.seed = seed;
  mo.num_classes = classes;
  return mo;
}

std::shared_ptr<Module> student_model(const std::string& model, const ModelOptions& mo, Scheme scheme = Scheme::lsq,
                                      int bits = 4) {
  return make_quantized_model(model, mo, PrecisionConfig::uniform(scheme, bits, bits));
}

// The plain QAT loop's hooks (quant/training.h) on a trainer's options.
TrainerOptions qat_options(const std::string& out, const ModelOptions& mo, const Module& model) {
  TrainerOptions o;
  o.out_dir = out;
  o.progress = ProgressMode::quiet;
  o.model_options = mo;
  o.hooks.after_step = [&model](int64_t) { after_optimizer_step(model); };
  return o;
}

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_br_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

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

MethodSpec br_spec(const fs::path& teacher, nlohmann::json settings = nlohmann::json::object()) {
  return MethodSpec{"br", std::move(settings), teacher.string()};
}

Tensor random_images(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::empty(Shape{n, 1, 28, 28});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-1.0f, 2.0f);
  return t;
}

std::unique_ptr<BlockReplacement> prepared(Module& student, Module& teacher, const nlohmann::json& settings) {
  auto m = BlockReplacement::from_json(settings);
  auto* br = static_cast<BlockReplacement*>(m.release());
  br->prepare(student, &teacher);
  return std::unique_ptr<BlockReplacement>(br);
}

// The outputs of one training-mode step of student and teacher: Q's logits with its taps captured, and the
// mixed models' logits from the method.
struct Step {
  Batch batch;
  std::unique_ptr<FeatureTaps> taps;
  FeatureTaps none;
  Var logits, no_teacher;
  std::vector<Var> mixed;
};

void run_step(Step& s, Module& student, BlockReplacement& br, const Tensor& images) {
  s.taps = std::make_unique<FeatureTaps>(student, br.student_taps());
  s.batch.images = images;
  s.batch.labels.assign(static_cast<size_t>(images.shape()[0]), 1);
  student.train();
  s.logits = student(Var(images));
  s.mixed = br.mixed_logits(StepInputs{s.batch, s.logits, *s.taps, s.no_teacher, s.none, 0.0f, 0});
}

bool same_values(const Var& a, const Var& b) { return a.value().to_vector() == b.value().to_vector(); }

struct Interrupted {};
}  // namespace

TEST_CASE("br: settings have defaults, round-trip, and bad ones are clear errors") {
  auto m = make_method("br", nlohmann::json::object());
  CHECK(m->to_json() == nlohmann::json{{"lambda", 1.0}, {"mixed", "all"}, {"replacement", "prefix"},
                                       {"blocks", "stages"}, {"base", "lsq"}, {"kd_alpha", 0.0},
                                       {"kd_temperature", 4.0}});
  CHECK_FALSE(m->trainer_runs_teacher());
  const nlohmann::json full = {{"lambda", {0.5, 0.25}}, {"mixed", {1, 3}}, {"replacement", "single"},
                               {"blocks", {"layer1.0", "layer2"}}, {"base", "dorefa"}, {"kd_alpha", 0.3},
                               {"kd_temperature", 2.0}};
  CHECK(make_method("br", full)->to_json() == full);
  // The command line's comma-separated form of the block ends is recorded as a list.
  CHECK(make_method("br", {{"blocks", "pool1,pool2"}})->to_json().at("blocks") ==
        nlohmann::json{"pool1", "pool2"});
  CHECK(make_method("br", {{"lambda", {2}}})->to_json().at("lambda") == 2.0);

  auto bad = [](const nlohmann::json& s, const char* msg) {
    CAPTURE(s.dump());
    CHECK_THROWS_WITH_AS(make_method("br", s), doctest::Contains(msg), Error);
  };
  bad({{"lambda", -1}}, "br.lambda must be >= 0, got -1");
  bad({{"lambda", "x"}}, "br.lambda must be a number");
  bad({{"lambda", nlohmann::json::array()}}, "br.lambda must be a number or a non-empty list");
  bad({{"mixed", "some"}}, "br.mixed must be \"all\" or a list");
  bad({{"mixed", {0}}}, "br.mixed must list k >= 1");
  bad({{"mixed", {2, 1}}}, "br.mixed must list distinct k in increasing order");
  bad({{"mixed", {1.5}}}, "br.mixed must list integers");
  bad({{"mixed", {1, 2}}, {"lambda", {1, 2, 3}}}, "br.lambda has 3 values, but br.mixed lists 2");
  bad({{"replacement", "suffix"}}, "br.replacement must be \"prefix\" or \"single\"");
  bad({{"blocks", nlohmann::json::array()}}, "br.blocks must be \"stages\", \"basic\" or a non-empty list");
  bad({{"blocks", "a,,b"}}, "br.blocks has an empty module name");
  bad({{"base", "pact"}}, "br.base must be \"lsq\", \"dorefa\" or \"any\", got \"pact\"");
  bad({{"kd_alpha", 1.5}}, "br.kd_alpha must be in [0, 1], got 1.5");
  bad({{"kd_temperature", 0}}, "br.kd_temperature must be > 0");
  bad({{"lamda", 1}}, "br: unknown setting 'lamda'");
}

TEST_CASE("br: the default blocks of the zoo models") {
  struct Case {
    const char* model;
    const char* blocks;
    std::vector<std::string> ends;
  };
  const std::vector<Case> cases = {
      {"lenet5", "stages", {"pool1", "pool2"}},
      {"vgg_small", "stages", {"pool1", "pool2", "pool3"}},
      {"resnet20", "stages", {"layer1", "layer2"}},
      {"resnet20", "basic", {"layer1.0", "layer1.1", "layer1.2", "layer2.0", "layer2.1", "layer2.2", "layer3.0",
                             "layer3.1"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.model);
    CAPTURE(c.blocks);
    auto s = student_model(c.model, model_options(1));
    auto t = make_model(c.model, model_options(2));
    auto br = prepared(*s, *t, {{"blocks", c.blocks}});
    CHECK(br->block_ends() == c.ends);
    CHECK(br->num_blocks() == static_cast<int>(c.ends.size()) + 1);
    std::vector<int> all;
    for (int k = 1; k < br->num_blocks(); ++k) all.push_back(k);
    CHECK(br->trained_k() == all);
    CHECK(br->student_taps() == c.ends);
  }
  auto s = student_model("resnet8", model_options(1));
  auto t = make_model("resnet8", model_options(2));
  CHECK(prepared(*s, *t, {{"lambda", {0, 1}}})->trained_k() == std::vector<int>{2});
  CHECK(prepared(*s, *t, {{"replacement", "single"}, {"mixed", {3}}})->trained_k() == std::vector<int>{3});
  CHECK(prepared(*s, *t, {{"replacement", "single"}})->student_taps().empty());
}

TEST_CASE("br: the mixed models equal the hand-built composition of student and teacher sections") {
  const Tensor x = random_images(3, 41);
  SUBCASE("ResNet-8 stages, prefix chain: M_k = teacher after k student blocks") {
    auto s = student_model("resnet8", model_options(1));
    auto t = make_model("resnet8", model_options(2));
    auto br = prepared(*s, *t, nlohmann::json::object());
    Step st;
    run_step(st, *s, *br, x);
    REQUIRE(st.mixed.size() == 2);
    auto& sr = static_cast<Sequential&>(*s);
    auto& tr = static_cast<Sequential&>(*t);
    t->eval();
    const size_t l1 = sr.index_of("layer1"), l2 = sr.index_of("layer2"), end = sr.size();
    const Var h1 = sr.forward_range(Var(x), 0, l1 + 1);
    const Var h2 = sr.forward_range(h1, l1 + 1, l2 + 1);
    CHECK(same_values(h1, st.taps->get("layer1")));
    CHECK(same_values(st.mixed[0], tr.forward_range(h1, l1 + 1, end)));
    CHECK(same_values(st.mixed[1], tr.forward_range(h2, l2 + 1, end)));
    // The teacher's suffix is a different function from the student's: the mixed models are not Q.
    CHECK_FALSE(same_values(st.mixed[1], st.logits));
  }
  SUBCASE("ResNet-14 BasicBlocks: the cut inside a stage runs the rest of that stage, then the later stages") {
    auto s = student_model("resnet14", model_options(3));
    auto t = make_model("resnet14", model_options(4));
    auto br = prepared(*s, *t, {{"blocks", "basic"}, {"mixed", {1, 3}}});
    REQUIRE(br->num_blocks() == 6);
    Step st;
    run_step(st, *s, *br, x);
    REQUIRE(st.mixed.size() == 2);
    auto& sr = static_cast<Sequential&>(*s);
    auto& tr = static_cast<Sequential&>(*t);
    t->eval();
    const size_t l1 = sr.index_of("layer1"), l2 = sr.index_of("layer2"), end = sr.size();
    auto& s1 = static_cast<Sequential&>(sr.at(l1));
    auto& s2 = static_cast<Sequential&>(sr.at(l2));
    auto& t1 = static_cast<Sequential&>(tr.at(l1));
    auto& t2 = static_cast<Sequential&>(tr.at(l2));
    const Var h1 = s1.forward_range(sr.forward_range(Var(x), 0, l1), 0, 1);           // ... layer1.0
    const Var h3 = s2.forward_range(s1.forward_range(h1, 1, 2), 0, 1);                // layer1.1, layer2.0
    CHECK(same_values(st.mixed[0], tr.forward_range(t1.forward_range(h1, 1, 2), l1 + 1, end)));
    CHECK(same_values(st.mixed[1], tr.forward_range(t2.forward_range(h3, 1, 2), l2 + 1, end)));
  }
  SUBCASE("LeNet-5, single-block replacement: only block k is the student's") {
    auto s = student_model("lenet5", model_options(5));
    auto t = make_model("lenet5", model_options(6));
    auto br = prepared(*s, *t, {{"replacement", "single"}, {"mixed", {1, 2, 3}}});
    Step st;
    run_step(st, *s, *br, x);
    REQUIRE(st.mixed.size() == 3);
    auto& sr = static_cast<Sequential&>(*s);
    auto& tr = static_cast<Sequential&>(*t);
    t->eval();
    const size_t p1 = sr.index_of("pool1") + 1, p2 = sr.index_of("pool2") + 1, end = sr.size();
    const Var f1 = tr.forward_range(Var(x), 0, p1), f2 = tr.forward_range(f1, p1, p2);
    CHECK(same_values(st.mixed[0], tr.forward_range(sr.forward_range(Var(x), 0, p1), p1, end)));
    CHECK(same_values(st.mixed[1], tr.forward_range(sr.forward_range(f1, p1, p2), p2, end)));
    CHECK(same_values(st.mixed[2], sr.forward_range(f2, p2, end)));
  }
}

TEST_CASE("br: the student's BatchNorm statistics see only Q's pass, the teacher gets no gradient") {
  auto t = make_model("lenet5", model_options(8));
  const std::vector<float> teacher_before = flat_state(*t);
  for (const char* mode : {"prefix", "single"}) {
    CAPTURE(mode);
    auto s = student_model("lenet5", model_options(7));
    auto br = prepared(*s, *t, {{"replacement", mode}, {"kd_alpha", 0.5}});
    auto plain = student_model("lenet5", model_options(7));
    Step st, sp;
    const Tensor x = random_images(4, 42);
    run_step(st, *s, *br, x);
    plain->train();
    (*plain)(Var(x));
    // Running statistics (and LSQ's initialised steps) as after one plain forward: the single-block pass of
    // each q_k restored them.
    CHECK(flat_state(*s) == flat_state(*plain));
    s->zero_grad();
    Var loss = br->loss(StepInputs{st.batch, st.logits, *st.taps, st.no_teacher, st.none, 0.0f, 0});
    loss.backward();
    for (const auto& [name, p] : t->named_parameters()) {
      CAPTURE(name);
      CHECK_FALSE(p.has_grad());
      CHECK_FALSE(p.requires_grad());
    }
    CHECK(flat_state(*t) == teacher_before);  // running statistics too: the teacher ran in eval mode
    CHECK_FALSE(t->is_training());
    // The mixed models' gradient reaches the student's first block: it differs from plain CE's.
    const Var w = s->named_parameters().front().second;
    REQUIRE(w.has_grad());
    const std::vector<float> g_br = w.grad().to_vector();
    s->zero_grad();
    cross_entropy((*s)(Var(x)), st.batch.labels).backward();
    CHECK(w.grad().to_vector() != g_br);
    s->zero_grad();
  }
}

TEST_CASE("br: lambda = 0 trains exactly as plain QAT (weights bit for bit), lambda > 0 does not") {
  const ImageDataset train = test::synthetic_bars(64, 51, "syn/train"), val = test::synthetic_bars(32, 52, "syn/val");
  const TrainConfig cfg = config();
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("lambda0");
  save_teacher(dir / "teacher.lbar", "lenet5", model_options(99));

  auto plain = student_model(cfg.model, mo);
  Trainer(*plain, cfg, qat_options("", mo, *plain)).fit(train, val);

  for (const nlohmann::json& settings : {nlohmann::json{{"lambda", 0}}, nlohmann::json{{"lambda", 0},
                                                                                       {"replacement", "single"}}}) {
    CAPTURE(settings.dump());
    auto student = student_model(cfg.model, mo);
    PreparedMethod pm = prepare_method(br_spec(dir / "teacher.lbar", settings), *student, cfg.model, mo, {});
    TrainerOptions o = qat_options("", mo, *student);
    attach_method(pm, o);
    CHECK(o.teacher == nullptr);  // the method calls the teacher itself
    Trainer(*student, cfg, o).fit(train, val);
    CHECK(flat_state(*plain) == flat_state(*student));
  }
  auto guided = student_model(cfg.model, mo);
  PreparedMethod pm = prepare_method(br_spec(dir / "teacher.lbar"), *guided, cfg.model, mo, {});
  TrainerOptions o = qat_options("", mo, *guided);
  attach_method(pm, o);
  Trainer(*guided, cfg, o).fit(train, val);
  CHECK(flat_state(*plain) != flat_state(*guided));
  fs::remove_all(dir);
}

TEST_CASE("br: a run killed after epoch 1 and resumed equals the straight run") {
  const ImageDataset train = test::synthetic_bars(64, 53, "syn/train"), val = test::synthetic_bars(32, 54, "syn/val");
  const TrainConfig cfg = config();
  const ModelOptions mo = model_options(cfg.seed);
  const fs::path dir = fresh_dir("resume");
  const fs::path teacher = dir / "teacher.lbar";
  save_teacher(teacher, "lenet5", model_options(97));
  for (const char* mode : {"prefix", "single"}) {
    CAPTURE(mode);
    const MethodSpec spec = br_spec(teacher, {{"replacement", mode}, {"lambda", 0.5}, {"kd_alpha", 0.25}});
    const fs::path straight = dir / (std::string("straight_") + mode), resumed = dir / (std::string("resumed_") + mode);
    auto a = student_model(cfg.model, mo);
    PreparedMethod pa = prepare_method(spec, *a, cfg.model, mo, {});
    TrainerOptions oa = qat_options(straight.string(), mo, *a);
    attach_method(pa, oa);
    const TrainResult ra = Trainer(*a, cfg, oa).fit(train, val);
    {
      auto b = student_model(cfg.model, mo);
      PreparedMethod pb = prepare_method(spec, *b, cfg.model, mo, {});
      TrainerOptions ob = qat_options(resumed.string(), mo, *b);
      ob.hooks.after_epoch = [](const EpochMetrics& m) {
        if (m.epoch == 1) throw Interrupted{};
      };
      attach_method(pb, ob);
      CHECK_THROWS_AS(Trainer(*b, cfg, ob).fit(train, val), Interrupted);
    }
    const nlohmann::json rec = read_archive((resumed / "checkpoint.lbar").string()).meta.at("method");
    CHECK(rec.at("name") == "br");
    CHECK(rec.at("settings").at("replacement") == mode);
    // A fresh process: other initial weights; the checkpoint brings the trained ones back.
    auto c = student_model(cfg.model, model_options(1234));
    PreparedMethod pc = prepare_method(spec, *c, cfg.model, mo, {});
    TrainerOptions oc = qat_options(resumed.string(), mo, *c);
    oc.resume = true;
    attach_method(pc, oc);
    const TrainResult rc = Trainer(*c, cfg, oc).fit(train, val);
    CHECK(rc.start_epoch == 1);
    CHECK(flat_state(*a) == flat_state(*c));
    CHECK(ra.history.back().train_loss == rc.history.back().train_loss);
  }
  fs::remove_all(dir);
}

TEST_CASE("br: a missing or foreign teacher, a student that does not fit, and bad blocks are clear errors") {
  const ModelOptions mo = model_options(9);
  const fs::path dir = fresh_dir("errors");
  auto student = student_model("lenet5", mo);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(dir / "nope.lbar"), *student, "lenet5", mo, {}),
                       doctest::Contains("nope.lbar' does not exist (method 'br')"), Error);
  CHECK_THROWS_WITH_AS(prepare_method(MethodSpec{"br", nlohmann::json::object(), ""}, *student, "lenet5", mo, {}),
                       doctest::Contains("method 'br' needs a teacher model file"), Error);
  save_teacher(dir / "resnet.lbar", "resnet8", model_options(1));
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(dir / "resnet.lbar"), *student, "lenet5", mo, {}),
                       doctest::Contains("is a 'resnet8', but method 'br' needs a teacher of the student's "
                                         "architecture 'lenet5'"),
                       Error);
  save_teacher(dir / "teacher.lbar", "lenet5", model_options(2));
  const fs::path teacher = dir / "teacher.lbar";
  auto fp32 = make_model("lenet5", mo);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher), *fp32, "lenet5", mo, {}),
                       doctest::Contains("br: the student has no quantized layer"), Error);
  auto dorefa = student_model("lenet5", mo, Scheme::dorefa, 2);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher), *dorefa, "lenet5", mo, {}),
                       doctest::Contains("br.base is \"lsq\", but the student's layer 'conv2' is quantized with "
                                         "dorefa W2A2"),
                       Error);
  CHECK_NOTHROW(prepare_method(br_spec(teacher, {{"base", "dorefa"}}), *dorefa, "lenet5", mo, {}));
  CHECK_NOTHROW(prepare_method(br_spec(teacher, {{"base", "any"}}), *dorefa, "lenet5", mo, {}));
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"blocks", "pool1,conv9"}}), *student, "lenet5", mo, {}),
                       doctest::Contains("br.blocks names 'conv9', which is not a module a block can end at "
                                         "(candidates: conv1, bn1, act1, pool1"),
                       Error);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"blocks", "pool2,pool1"}}), *student, "lenet5", mo, {}),
                       doctest::Contains("br.blocks names 'pool1' out of order"), Error);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"blocks", "fc3"}}), *student, "lenet5", mo, {}),
                       doctest::Contains("the model's last module"), Error);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"blocks", "basic"}}), *student, "lenet5", mo, {}),
                       doctest::Contains("br.blocks \"basic\" needs a ResNet"), Error);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"mixed", {3}}}), *student, "lenet5", mo, {}),
                       doctest::Contains("br.mixed lists k = 3, out of range: the model has 3 blocks, so k must be "
                                         "in 1..2 (prefix replacement)"),
                       Error);
  CHECK_THROWS_WITH_AS(prepare_method(br_spec(teacher, {{"lambda", {1, 1, 1}}}), *student, "lenet5", mo, {}),
                       doctest::Contains("br.lambda has 3 values, but there are 2 mixed models (k = 1, 2)"), Error);
  // A quantized teacher is refused (BR's teacher is the full-precision network); built directly, since a file
  // of a quantized model needs quant's builder.
  auto qteacher = student_model("lenet5", model_options(3));
  auto br = BlockReplacement::from_json(nlohmann::json::object());
  CHECK_THROWS_WITH_AS(br->prepare(*student, qteacher.get()),
                       doctest::Contains("br: the teacher must be full precision, but its layer 'conv2' is quantized"),
                       Error);
  CHECK_THROWS_WITH_AS(br->prepare(*student, nullptr), doctest::Contains("br: block-replacement QAT needs a"), Error);
  fs::remove_all(dir);
}
