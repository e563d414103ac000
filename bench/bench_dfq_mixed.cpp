// bench_dfq_mixed: inference speed of a mixed-precision LeNet-5 found by DFQ against the uniform configs next to
// it in size, on the layers' kernels (the kernel path of QConv2d / QLinear, eval mode, no graph), batch 64.
//   BM_forward/<config>   one forward pass of the whole model; counters: images/s, size_bytes, avg_wbits (quant/cost.h)
// The mixed config is the one `lowbit train --method dfq` found in the run named below (its dfq_precision.json);
// the uniform ones are DoReFa W<b>A8 with first/last q, the grid's matched-size baselines. Run with
//   --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
// so the configs alternate and the medians compare them under the same load (the machine is shared).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/bench_util.h"
#include "engine/threading.h"
#include "nn/zoo/zoo.h"
#include "quant/cost.h"
#include "quant/quantized_model.h"

namespace lb = lowbit::bench;
using namespace lowbit;

namespace {

// Found by: lowbit train --model lenet5 --dataset mnist --epochs 2 --quant dorefa --wbits 8 --abits 8
//   --first-last q --method dfq --dfq-target-bits 3 --dfq-search-epochs 1 (beta by Adam, lr 0.01, ceil): the
//   development run's dfq_precision.json (conv1 W5 with 8-bit image input, every other layer W4).
quant::PrecisionConfig found_config() {
  nlohmann::json j = quant::PrecisionConfig::uniform(quant::Scheme::dorefa, 8, 8, quant::EdgePolicy::q).to_json();
  j["layers"] = nlohmann::json::array({{{"match", "conv1"}, {"wbits", 5}}, {{"match", "conv2"}, {"wbits", 4}},
                                       {{"match", "fc1"}, {"wbits", 4}}, {{"match", "fc2"}, {"wbits", 4}},
                                       {{"match", "fc3"}, {"wbits", 4}}});
  return quant::PrecisionConfig::from_json(j, "bench_dfq_mixed found config");
}

struct Config {
  std::string name;
  quant::PrecisionConfig cfg;
};

std::vector<Config> configs() {
  std::vector<Config> c = {{"dfq_found", found_config()}};
  for (int b : {3, 4, 5})
    c.push_back({"uniform_w" + std::to_string(b), quant::PrecisionConfig::uniform(quant::Scheme::dorefa, b, 8, quant::EdgePolicy::q)});
  return c;
}

void BM_forward(benchmark::State& state) {
  const Config c = configs()[size_t(state.range(0))];
  set_num_threads(2);
  nn::ModelOptions mo;
  mo.seed = 1;
  quant::QuantSpec spec;
  spec.precision = c.cfg;
  quant::BuiltModel b = quant::build_model("lenet5", mo, spec);
  b.model->eval();
  Tensor x = Tensor::empty(Shape{64, 1, 28, 28});
  lb::fill_random(x.data(), size_t(x.numel()), 7, -0.4f, 2.8f);  // the range of normalised MNIST pixels
  NoGradGuard ng;
  (*b.model)(Var(x));  // calibrates the image input range and packs the weights
  for (auto _ : state) benchmark::DoNotOptimize((*b.model)(Var(x)).value().data());
  const quant::ModelCost cost = quant::model_cost(*b.model, Shape{1, 28, 28});
  state.counters["images_per_s"] = benchmark::Counter(64.0 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["size_bytes"] = double(cost.model_bytes());
  state.counters["avg_wbits"] = cost.avg_wbits();
  state.SetLabel(lb::label(kernels::active_isa(), 2, c.name));
}

}  // namespace

BENCHMARK(BM_forward)->DenseRange(0, 3)->ArgName("config")->Unit(benchmark::kMillisecond)->UseRealTime();

LOWBIT_BENCH_MAIN();
