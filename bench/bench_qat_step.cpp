// bench_qat_step: what quantization-aware training costs on the low-bit kernels.
//   BM_step/<model>/<mode>  one SGD step (forward, cross-entropy, backward, step, quant hooks) at batch 128:
//                           mode 0 fp32 (the plain zoo model), 1 qat_kernel (BNN W1A1, first/last fp32, forward
//                           through bconv2d/bgemm), 2 qat_fake (same model, fp32 fake-quant forward), 3 DoReFa
//                           W1A1 (first/last fp32, {0,1} activations: forward through bitserial).
//   BM_quantizer/<rule>     the quantizer ops alone on a ResNet-20 layer-1 activation [128, 16, 32, 32]
//                           (forward only, no graph) — the overhead QAT adds before any GEMM.
//   BM_layer_infer/<case>   one conv layer in inference (no graph): QConv2d kernel path vs the fp32 Conv2d of
//                           the same shape, at ResNet-20 layer shapes, batch 128. Includes the activation
//                           quantizer, im2col of codes, packing and the rescale (packed weights are cached).
// Threads: 2 (the machine's cores) unless --benchmark_filter picks otherwise; inputs are seeded noise.
#include <memory>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "engine/allocator.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/threading.h"
#include "nn/layers/conv2d.h"
#include "nn/zoo/zoo.h"
#include "quant/factory.h"
#include "quant/layers/qconv2d.h"
#include "quant/rules.h"
#include "quant/training.h"

namespace lb = lowbit::bench;
using namespace lowbit;

namespace {

constexpr int kThreads = 2;

Tensor noise(const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(s);
  lb::fill_random(t.data(), static_cast<size_t>(t.numel()), seed, lo, hi);
  return t;
}

struct ModelCase {
  const char* name;
  int c, h, w;
};
const ModelCase kLenet{"lenet5", 1, 28, 28};
const ModelCase kResnet{"resnet20", 3, 32, 32};

enum Mode { fp32 = 0, qat_kernel = 1, qat_fake = 2, qat_dorefa = 3 };

void BM_step(benchmark::State& state, ModelCase mc) {
  const Mode mode = static_cast<Mode>(state.range(0));
  set_num_threads(kThreads);
  nn::ModelOptions o;
  o.in_channels = mc.c, o.height = mc.h, o.width = mc.w, o.seed = 1;
  std::shared_ptr<nn::Module> model;
  if (mode == fp32) {
    model = nn::make_model(mc.name, o);
  } else {
    quant::QuantModelOptions q;
    q.path = mode == qat_fake ? quant::QPath::fake : quant::QPath::kernel;
    model = quant::make_quantized_model(
        mc.name, o, quant::PrecisionConfig::uniform(mode == qat_dorefa ? quant::Scheme::dorefa : quant::Scheme::bnn, 1, 1), q);
  }
  const int64_t B = 128;
  const Tensor x = noise(Shape{B, mc.c, mc.h, mc.w}, 3);
  std::vector<int32_t> y(B);
  for (int64_t i = 0; i < B; ++i) y[i] = static_cast<int32_t>(i % 10);
  Sgd opt(model->parameters(), SgdOptions{0.01f, 0.9f});
  auto step = [&] {
    opt.zero_grad();
    Var loss = cross_entropy((*model)(Var(x)), y);
    loss.backward();
    opt.step();
    quant::after_optimizer_step(*model);
  };
  for (int i = 0; i < 3; ++i) step();  // untimed warm-up: fresh pages, first weight packing
  const AllocStats before = alloc_stats();
  for (auto _ : state) step();
  state.counters["images_per_s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
  // Tensor-cache misses per step (each a fresh block from the system, whose pages fault on first touch): 0 in a
  // steady state after the first step.
  state.counters["alloc_misses_per_step"] = benchmark::Counter(
      double(alloc_stats().misses - before.misses), benchmark::Counter::kAvgIterations);
  static const char* names[] = {" fp32", " bnn W1A1 kernel", " bnn W1A1 fake", " dorefa W1A1 kernel"};
  state.SetLabel(lb::label(kernels::active_isa(), kThreads, std::string(mc.name) + names[mode]));
}

void BM_quantizer(benchmark::State& state) {
  set_num_threads(kThreads);
  const int which = static_cast<int>(state.range(0));
  const Tensor x = noise(Shape{128, 16, 32, 32}, 5, -0.5f, 1.5f);
  const Var xv(x);
  const Var alpha(Tensor::full(Shape{1}, 1.0f));
  const Var step(Tensor::full(Shape{1}, 0.1f));
  NoGradGuard ng;
  for (auto _ : state) {
    quant::Quantized q;
    switch (which) {
      case 0: q = quant::bnn_sign(xv); break;
      case 1: q = quant::dorefa_activation(xv, 2); break;
      case 2: q = quant::pact_activation(xv, alpha, 4); break;
      default: q = quant::lsq_quantize(xv, step, 4, false, 1.0f); break;
    }
    benchmark::DoNotOptimize(q.codes.code.data());
  }
  static const char* names[] = {"bnn_sign", "dorefa_act_a2", "pact_a4", "lsq_a4"};
  state.counters["Gelem_per_s"] =
      benchmark::Counter(double(x.numel()), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.SetLabel(lb::label(kernels::active_isa(), kThreads, std::string(names[which]) + " [128,16,32,32]"));
}

// range(0): channels (16, 32, 64 with maps 32, 16, 8), range(1): precision (0 fp32, 1 bnn W1A1, 2 dorefa W2A2,
// 3 lsq W4A4).
void BM_layer_infer(benchmark::State& state) {
  set_num_threads(kThreads);
  const int C = static_cast<int>(state.range(0));
  const int hw = C == 16 ? 32 : C == 32 ? 16 : 8;
  const int which = static_cast<int>(state.range(1));
  Rng rng(1);
  nn::Conv2dOptions o{C, C, 3, 3, 1, 1, 1, false};
  std::shared_ptr<nn::Module> layer;
  const quant::Precision precs[] = {{}, {1, 1, quant::Scheme::bnn}, {2, 2, quant::Scheme::dorefa},
                                    {4, 4, quant::Scheme::lsq}};
  if (which == 0) {
    layer = std::make_shared<nn::Conv2d>(o, rng);
  } else {
    layer = std::make_shared<quant::QConv2d>(o, precs[which], quant::QuantOptions{}, rng);
  }
  const Tensor x = noise(Shape{128, C, hw, hw}, 9, -0.5f, 1.5f);
  NoGradGuard ng;
  for (auto _ : state) benchmark::DoNotOptimize((*layer)(Var(x)).value().data());
  const double macs = 128.0 * C * hw * hw * C * 9;
  lb::set_gops(state, 2.0 * macs);
  std::string label = which == 0 ? "fp32" : precs[which].str();
  if (auto* q = dynamic_cast<quant::QuantizedLayer*>(layer.get()); q && q->last_backend())
    label += std::string(" via ") + quant::backend_name(*q->last_backend());
  state.SetLabel(lb::label(kernels::active_isa(), kThreads, label + " 3x3 " + std::to_string(C) + "ch " +
                                                              std::to_string(hw) + "x" + std::to_string(hw)));
}

}  // namespace

BENCHMARK_CAPTURE(BM_step, lenet5, kLenet)->ArgName("mode")->DenseRange(fp32, qat_dorefa)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK_CAPTURE(BM_step, resnet20, kResnet)->ArgName("mode")->DenseRange(fp32, qat_dorefa)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_quantizer)->ArgName("rule")->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_layer_infer)->ArgNames({"ch", "prec"})->ArgsProduct({{16, 32, 64}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

LOWBIT_BENCH_MAIN();
