// bench_methods_step: what a training method's step costs next to a plain QAT step of the same model, measured
// in the same run. Each benchmark iteration runs one plain step and one method step, alternating which goes
// first, and times each with the process CPU clock (CLOCK_PROCESS_CPUTIME_ID: every thread of the process, so
// the figure does not depend on what else the shared machine runs); the counters are the medians over the
// iterations and their ratio.
//   BM_br/<model>/<case>  block-replacement guided QAT (quant/methods/block_replacement.h) against plain QAT with
//                         cross-entropy. Student: LSQ W4A4 (first/last fp32, kernel path), teacher: the fp32 zoo
//                         model; SGD, batch 128, 1×28×28 inputs (Fashion-MNIST's shape), seeded noise.
//                         case 0: prefix chain, every k = 1 … N−1 (the method's default), 1: single-block
//                         replacement, same k. Counters: blocks N, expected = 1 + 0.5·(N − 1) (equal-cost
//                         blocks), ratio = median BR step / median QAT step, plain_ms, method_ms (CPU ms).
// Adding a method: write a function that builds a MethodStep (a plain step and the method's step on their own
// models) and register it with the same measure() loop.
//   BM_dcq/<model>        DCQ phase 1 (quant/methods/dcq.h) against plain QAT, both DoReFa W1A8 students (see
//                         BM_dcq); counters: blocks = sections, ratio, plain_ms, method_ms.
// Threads: 2 (the machine's cores).
#include <time.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/threading.h"
#include "nn/taps.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "quant/factory.h"
#include "quant/methods/block_replacement.h"
#include "quant/methods/dcq.h"
#include "quant/training.h"

namespace lb = lowbit::bench;
using namespace lowbit;

namespace {

constexpr int kThreads = 2;
constexpr int64_t kBatch = 128;

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A plain QAT step and a method's step, each on its own copy of the model (same seed).
struct MethodStep {
  std::function<void()> plain, method;
  std::string label;
  double expected = 0;  // the expected ratio method / plain, 0 = none stated
  int blocks = 0;
};

// Runs both steps once per iteration, alternating the order, and sets the median counters.
void measure(benchmark::State& state, MethodStep& s) {
  for (int i = 0; i < 2; ++i) {  // untimed warm-up: fresh pages, first weight packing, LSQ step initialisation
    s.plain();
    s.method();
  }
  std::vector<double> plain_t, method_t;
  bool plain_first = true;
  for (auto _ : state) {
    for (int r = 0; r < 2; ++r) {
      const bool run_plain = (r == 0) == plain_first;
      const double t0 = cpu_seconds();
      (run_plain ? s.plain : s.method)();
      (run_plain ? plain_t : method_t).push_back(cpu_seconds() - t0);
    }
    plain_first = !plain_first;
  }
  const double p = median(plain_t), m = median(method_t);
  state.counters["plain_ms"] = 1e3 * p;
  state.counters["method_ms"] = 1e3 * m;
  state.counters["ratio"] = p > 0 ? m / p : 0.0;
  if (s.blocks > 0) state.counters["blocks"] = s.blocks;
  if (s.expected > 0) state.counters["expected"] = s.expected;
  state.SetLabel(lb::label(kernels::active_isa(), kThreads, s.label));
}

struct Data {
  Tensor x;
  std::vector<int32_t> y;
};

Data batch() {
  Data d{Tensor(Shape{kBatch, 1, 28, 28}), std::vector<int32_t>(kBatch)};
  lb::fill_random(d.x.data(), static_cast<size_t>(d.x.numel()), 3, -1.0f, 2.0f);
  for (int64_t i = 0; i < kBatch; ++i) d.y[i] = static_cast<int32_t>(i % 10);
  return d;
}

nn::ModelOptions options() {
  nn::ModelOptions o;
  o.in_channels = 1, o.height = 28, o.width = 28, o.seed = 1;
  return o;
}

std::shared_ptr<nn::Module> lsq_student(const std::string& model) {
  return quant::make_quantized_model(model, options(), quant::PrecisionConfig::uniform(quant::Scheme::lsq, 4, 4));
}

// A plain QAT step (cross-entropy) on its own student.
std::function<void()> plain_step(const std::string& model, const std::shared_ptr<Data>& d) {
  auto m = lsq_student(model);
  auto opt = std::make_shared<Sgd>(m->parameters(), SgdOptions{0.01f, 0.9f});
  return [m, opt, d] {
    opt->zero_grad();
    Var loss = cross_entropy((*m)(Var(d->x)), d->y);
    loss.backward();
    opt->step();
    quant::after_optimizer_step(*m);
  };
}

// range(0): 0 prefix chain, 1 single-block replacement. blocks: the br.blocks setting.
void BM_br(benchmark::State& state, const char* model, const char* blocks) {
  set_num_threads(kThreads);
  const bool single = state.range(0) == 1;
  auto d = std::make_shared<Data>(batch());
  MethodStep s;
  s.plain = plain_step(model, d);

  auto student = lsq_student(model);
  std::shared_ptr<nn::Module> teacher = nn::make_model(model, options());
  auto br = std::make_shared<quant::BlockReplacement>(quant::BlockReplacement::Settings{
      {1.0f}, {}, single ? quant::BlockReplacement::Replacement::single : quant::BlockReplacement::Replacement::prefix,
      blocks, {}, "lsq", 0.0f, 4.0f});
  br->prepare(*student, teacher.get());
  auto taps = std::make_shared<nn::FeatureTaps>(*student, br->student_taps());
  auto opt = std::make_shared<Sgd>(student->parameters(), SgdOptions{0.01f, 0.9f});
  s.method = [student, teacher, br, taps, opt, d] {
    opt->zero_grad();
    taps->clear();
    nn::Batch b;
    b.images = d->x;
    b.labels = d->y;
    const Var logits = (*student)(Var(d->x));
    const Var none_logits;
    const nn::FeatureTaps none;
    Var loss = br->loss(nn::StepInputs{b, logits, *taps, none_logits, none, 0.0f, 0});
    loss.backward();
    taps->clear();
    opt->step();
    quant::after_optimizer_step(*student);
  };
  s.blocks = br->num_blocks();
  s.expected = 1.0 + 0.5 * (s.blocks - 1);
  s.label = std::string(model) + " lsq W4A4 br " + (single ? "single" : "prefix") + " blocks=" + blocks + " N=" +
            std::to_string(s.blocks);
  measure(state, s);
}

// DCQ phase 1 (quant/methods/dcq.h) against plain QAT with cross-entropy: both students DoReFa W1A8 (first/last
// fp32, kernel path); the method step runs the frozen fp32 teacher forward (no gradients, boundary taps), every
// student section on the teacher's boundary activations, the section losses, one backward and the SGD step; the
// student's own full forward is not run (nn::TrainHooks::forward). Sections: the model's defaults.
void BM_dcq(benchmark::State& state, const char* model) {
  set_num_threads(kThreads);
  auto d = std::make_shared<Data>(batch());
  auto dorefa_student = [model] {
    return quant::make_quantized_model(model, options(),
                                       quant::PrecisionConfig::uniform(quant::Scheme::dorefa, 1, 8));
  };
  MethodStep s;
  {
    auto m = dorefa_student();
    auto opt = std::make_shared<Sgd>(m->parameters(), SgdOptions{0.01f, 0.9f});
    s.plain = [m, opt, d] {
      opt->zero_grad();
      Var loss = cross_entropy((*m)(Var(d->x)), d->y);
      loss.backward();
      opt->step();
      quant::after_optimizer_step(*m);
    };
  }
  auto student = dorefa_student();
  std::shared_ptr<nn::Module> teacher = nn::make_model(model, options());
  quant::DcqSettings settings;
  settings.teacher_activation = "bound";  // the zoo's ReLU teacher, the DoReFa student's clip(0,1)
  auto dcq = std::make_shared<quant::Dcq>(settings);
  dcq->prepare(*student, teacher.get());
  teacher->eval();
  teacher->set_requires_grad(false);
  auto ttaps = std::make_shared<nn::FeatureTaps>(*teacher, dcq->teacher_taps(), nn::TapMode::always);
  auto opt = std::make_shared<Sgd>(student->parameters(), SgdOptions{0.01f, 0.9f});
  s.method = [student, teacher, dcq, ttaps, opt, d] {
    opt->zero_grad();
    ttaps->clear();
    nn::Batch b;
    b.images = d->x;
    b.labels = d->y;
    Var tl;
    {
      NoGradGuard ng;
      tl = (*teacher)(Var(d->x));
    }
    const Var logits = dcq->train_forward(b, tl, *ttaps);
    const nn::FeatureTaps none;
    Var loss = dcq->loss(nn::StepInputs{b, logits, none, tl, *ttaps, 0.0f, 0});
    loss.backward();
    ttaps->clear();
    opt->step();
    quant::after_optimizer_step(*student);
  };
  s.blocks = static_cast<int>(dcq->sections().size());
  s.label = std::string(model) + " dorefa W1A8 dcq phase1 sections=" + std::to_string(s.blocks);
  measure(state, s);
}

}  // namespace

BENCHMARK_CAPTURE(BM_br, lenet5, "lenet5", "stages")->ArgName("single")->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond)->Iterations(40);
BENCHMARK_CAPTURE(BM_br, resnet20, "resnet20", "stages")->ArgName("single")->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond)->Iterations(9);
BENCHMARK_CAPTURE(BM_br, resnet20_basic, "resnet20", "basic")->ArgName("single")->DenseRange(0, 0)
    ->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_br, vgg_small, "vgg_small", "stages")->ArgName("single")->DenseRange(0, 1)
    ->Unit(benchmark::kMillisecond)->Iterations(9);

BENCHMARK_CAPTURE(BM_dcq, lenet5, "lenet5")->Unit(benchmark::kMillisecond)->Iterations(40);
BENCHMARK_CAPTURE(BM_dcq, resnet20, "resnet20")->Unit(benchmark::kMillisecond)->Iterations(9);
BENCHMARK_CAPTURE(BM_dcq, vgg_small, "vgg_small")->Unit(benchmark::kMillisecond)->Iterations(9);

LOWBIT_BENCH_MAIN();
