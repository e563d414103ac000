// bench_train_step: the fp32 engine end to end — one SGD training step (forward, cross-entropy, backward,
// optimizer step) at batch 128 and inference (eval mode, no graph) at batch 1 and 64, for the zoo's LeNet-5
// (1×28×28, Fashion-MNIST shape) and ResNet-20 (3×32×32, CIFAR-10 shape), at each thread count.
//
// bench/pytorch_peer.py builds the identical models (same layers, BatchNorm placement, option-A shortcuts, no
// biases before BN) and times the identical steps; scripts/bench_train.sh runs both in one session and writes
// bench/results/train_step.json with the ratio lowbit / PyTorch.
//
// Inputs are seeded uniform noise and labels seeded random classes: the cost of a step does not depend on the
// data. SGD: lr 0.01, momentum 0.9, weight decay 5e-4 (as in the PyTorch script).
// Counters: time per iteration is ms per step; images_per_s; peak_rss_MB = VmHWM of the process after the
// benchmark (run one benchmark per process — the driver does — for a per-configuration peak) and
// rss_before_MB = VmRSS when the benchmark function started (libraries loaded, no model yet).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/tensor.h"
#include "engine/threading.h"
#include "engine/var.h"
#include "nn/module.h"
#include "nn/zoo/zoo.h"

namespace lb = lowbit::bench;

namespace {

// Value of a "VmHWM:" / "VmRSS:" line of /proc/self/status in MB (kB / 1024), 0 if unavailable.
double proc_status_mb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0) return std::stod(line.substr(n)) / 1024.0;
  return 0.0;
}

struct ModelCase {
  const char* name;
  int c, h, w;
};
const ModelCase kLenet{"lenet5", 1, 28, 28};
const ModelCase kResnet{"resnet20", 3, 32, 32};

std::shared_ptr<lowbit::nn::Module> build(const ModelCase& m) {
  lowbit::nn::ModelOptions o;
  o.in_channels = m.c;
  o.height = m.h;
  o.width = m.w;
  o.num_classes = 10;
  o.seed = 1;
  return lowbit::nn::make_model(m.name, o);
}

lowbit::Tensor random_input(int batch, const ModelCase& m, uint64_t seed) {
  lowbit::Tensor x(lowbit::Shape{batch, m.c, m.h, m.w});
  lb::fill_random(x.data(), static_cast<size_t>(x.shape().numel()), seed, -1.0f, 1.0f);
  return x;
}

std::string shape_text(const ModelCase& m, int batch) {
  return std::string(m.name) + " " + std::to_string(batch) + "x" + std::to_string(m.c) + "x" + std::to_string(m.h) +
         "x" + std::to_string(m.w);
}

void finish_counters(benchmark::State& state, int batch, double rss_before) {
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(batch) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
  state.counters["peak_rss_MB"] = proc_status_mb("VmHWM:");
  state.counters["rss_before_MB"] = rss_before;
}

// Untimed steps before the timed loop, like the PyTorch peer's warm-up: the first step of a fresh model touches
// fresh pages for every activation and gradient (the tensor cache is empty), later ones reuse cached blocks.
template <class F>
void warm_up(F f) {
  for (int i = 0; i < 3; ++i) f();
}

// What both training benches step: the model in train mode, SGD (lr 0.01, momentum 0.9, wd 5e-4), a seeded
// input batch and seeded labels.
struct TrainSetup {
  TrainSetup(const ModelCase& m, int batch)
      : model(build(m)), opt(model->parameters(), sgd_options()), x(random_input(batch, m, 7)),
        labels(static_cast<size_t>(batch)) {
    model->train();
    std::mt19937 g(11);
    for (auto& l : labels) l = static_cast<int32_t>(g() % 10);
  }
  static lowbit::SgdOptions sgd_options() {
    lowbit::SgdOptions so;
    so.lr = 0.01f;
    so.momentum = 0.9f;
    so.weight_decay = 5e-4f;
    return so;
  }
  std::shared_ptr<lowbit::nn::Module> model;
  lowbit::Sgd opt;
  lowbit::Var x;
  std::vector<int32_t> labels;
};

void BM_train_step(benchmark::State& state, ModelCase m) {
  const int batch = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  const double rss_before = proc_status_mb("VmRSS:");
  lowbit::set_num_threads(threads);
  TrainSetup t(m, batch);
  auto& model = t.model;
  auto& opt = t.opt;
  const lowbit::Var& x = t.x;
  const std::vector<int32_t>& labels = t.labels;
  auto step = [&] {
    opt.zero_grad();
    lowbit::Var loss = lowbit::cross_entropy((*model)(x), labels);
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.value().data());
  };
  warm_up(step);
  for (auto _ : state) step();
  finish_counters(state, batch, rss_before);
  state.SetLabel(lb::label(lowbit::kernels::active_isa(), threads, "train " + shape_text(m, batch)));
}

// The training step split into its phases (wall clock per phase, averaged over the iterations): where the
// time of BM_train_step goes. forward_ms includes the loss and building the graph; backward_ms the whole
// backward walk; step_ms zero_grad + the optimizer update.
void BM_train_phases(benchmark::State& state, ModelCase m) {
  using Clock = std::chrono::steady_clock;
  const int batch = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  lowbit::set_num_threads(threads);
  TrainSetup t(m, batch);
  auto& model = t.model;
  auto& opt = t.opt;
  const lowbit::Var& x = t.x;
  const std::vector<int32_t>& labels = t.labels;
  double fwd = 0, bwd = 0, upd = 0;
  warm_up([&] {
    lowbit::cross_entropy((*model)(x), labels).backward();
    opt.step();
    opt.zero_grad();
  });
  for (auto _ : state) {
    const auto t0 = Clock::now();
    lowbit::Var loss = lowbit::cross_entropy((*model)(x), labels);
    const auto t1 = Clock::now();
    loss.backward();
    const auto t2 = Clock::now();
    opt.step();
    opt.zero_grad();
    const auto t3 = Clock::now();
    fwd += std::chrono::duration<double, std::milli>(t1 - t0).count();
    bwd += std::chrono::duration<double, std::milli>(t2 - t1).count();
    upd += std::chrono::duration<double, std::milli>(t3 - t2).count();
  }
  state.counters["forward_ms"] = benchmark::Counter(fwd, benchmark::Counter::kAvgIterations);
  state.counters["backward_ms"] = benchmark::Counter(bwd, benchmark::Counter::kAvgIterations);
  state.counters["step_ms"] = benchmark::Counter(upd, benchmark::Counter::kAvgIterations);
  state.SetLabel(lb::label(lowbit::kernels::active_isa(), threads, "train phases " + shape_text(m, batch)));
}

void BM_inference(benchmark::State& state, ModelCase m) {
  const int batch = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  const double rss_before = proc_status_mb("VmRSS:");
  lowbit::set_num_threads(threads);
  auto model = build(m);
  model->eval();
  const lowbit::Var x(random_input(batch, m, 7));
  lowbit::NoGradGuard no_grad;
  auto run = [&] {
    lowbit::Var y = (*model)(x);
    benchmark::DoNotOptimize(y.value().data());
  };
  warm_up(run);
  for (auto _ : state) run();
  finish_counters(state, batch, rss_before);
  state.SetLabel(lb::label(lowbit::kernels::active_isa(), threads, "infer " + shape_text(m, batch)));
}

void train_args(benchmark::internal::Benchmark* b) {
  lb::add_args_with_threads(b, {"batch"}, {{128}});
  b->Unit(benchmark::kMillisecond);
}
void infer_args(benchmark::internal::Benchmark* b) {
  lb::add_args_with_threads(b, {"batch"}, {{1}, {64}});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_train_step, lenet5, kLenet)->Apply(train_args);
BENCHMARK_CAPTURE(BM_train_step, resnet20, kResnet)->Apply(train_args);
BENCHMARK_CAPTURE(BM_train_phases, lenet5, kLenet)->Apply(train_args);
BENCHMARK_CAPTURE(BM_train_phases, resnet20, kResnet)->Apply(train_args);
BENCHMARK_CAPTURE(BM_inference, lenet5, kLenet)->Apply(infer_args);
BENCHMARK_CAPTURE(BM_inference, resnet20, kResnet)->Apply(infer_args);

}  // namespace

LOWBIT_BENCH_MAIN();
