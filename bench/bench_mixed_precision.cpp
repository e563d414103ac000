// bench_mixed_precision: inference speed of the mixed-precision configs that CCQ and DFQ found, against the uniform
// configs of the grid's matched-size baselines, on the layers' kernels (the kernel path of QConv2d / QLinear, eval
// mode, no graph), in one run so that their ratio is measured under the same load.
//
// The found configs are not typed here: they are read from the committed grid results (results/ccq/results.json
// and results/dfq/results.json, or the comma list in $LOWBIT_MIXED_RESULTS). Every run of a CCQ or DFQ cell of seed
// $LOWBIT_MIXED_SEED (default 1) contributes its per-layer weight bits ("layer_bits") on top of the cell's own
// defaults (DoReFa, its activation bits, first/last quantized). Next to them, per (model, activation bits), the
// uniform DoReFa W2/W3/W4/W8 configs with first/last quantized, which are the grids' "nearest size" baselines.
//
//   BM_forward/<model>/<config>/threads:<t>   one forward pass of a batch (LeNet-5 64 images, VGG-small 16)
//   counters: images_per_s, size_bytes, avg_wbits, bitops (quant/cost.h, per image)
//
// bench/tools/mixed_precision_table.py pairs every found config with the uniform config nearest in size and prints
// time(uniform) / time(found) from the medians. Run with
//   --benchmark_repetitions=9 --benchmark_enable_random_interleaving=true
// so that the configs alternate and the medians compare them under the same load (the machine is shared).
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
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

struct Config {
  std::string model, name;
  quant::PrecisionConfig cfg;
};

int batch_of(const std::string& model) { return model == "lenet5" ? 64 : 16; }

std::vector<std::string> results_files() {
  const char* env = std::getenv("LOWBIT_MIXED_RESULTS");
  std::string list = env && *env ? env
                                 : std::string(LOWBIT_SOURCE_DIR "/results/ccq/results.json,") +
                                       LOWBIT_SOURCE_DIR "/results/dfq/results.json";
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string f; std::getline(ss, f, ',');)
    if (!f.empty()) out.push_back(f);
  return out;
}

// "CCQ (first/last quantized)" -> "ccq", "DFQ (mixed)" -> "dfq", anything else -> "".
std::string method_of(const std::string& label) {
  if (label.rfind("CCQ", 0) == 0) return "ccq";
  if (label.rfind("DFQ", 0) == 0) return "dfq";
  return "";
}

// "VGG-small FMNIST: CCQ avg 1.5 bits" -> "b1.5"
std::string target_of(const std::string& cell) {
  const size_t p = cell.find(" avg ");
  if (p == std::string::npos) return "b?";
  const size_t q = cell.find(' ', p + 5);
  return "b" + cell.substr(p + 5, q == std::string::npos ? std::string::npos : q - p - 5);
}

// Reads the found configs (and the activation bits each model was searched at) from the grid results.
std::vector<Config> found_configs(int seed, std::map<std::string, std::set<int>>& abits_by_model) {
  std::vector<Config> out;
  for (const std::string& path : results_files()) {
    std::ifstream in(path);
    if (!in) {
      std::fprintf(stderr, "bench_mixed_precision: cannot open %s (set LOWBIT_MIXED_RESULTS)\n", path.c_str());
      std::exit(2);
    }
    const nlohmann::json j = nlohmann::json::parse(in);
    for (const nlohmann::json& r : j.at("runs")) {
      const nlohmann::json& p = r.at("params");
      const std::string method = method_of(p.value("method", ""));
      if (method.empty() || r.value("seed", 0) != seed || !r.contains("layer_bits") || r["layer_bits"].is_null())
        continue;
      const std::string model = p.at("model").get<std::string>();
      const std::string dataset = p.value("dataset", "");
      if (dataset != "mnist" && dataset != "fashion-mnist") continue;
      if (model == "lenet5" && dataset == "fashion-mnist") continue;  // one LeNet-5 data set suffices
      const int abits = std::stoi(p.at("A").get<std::string>());
      nlohmann::json c = quant::PrecisionConfig::uniform(quant::Scheme::dorefa, 8, abits, quant::EdgePolicy::q).to_json();
      c["layers"] = nlohmann::json::array();
      for (const nlohmann::json& l : r["layer_bits"])
        c["layers"].push_back({{"match", l.at("layer")}, {"wbits", l.at("wbits")}});
      const std::string name =
          method + "_" + target_of(r.at("cell").get<std::string>()) + "_a" + std::to_string(abits) + "_" + dataset;
      out.push_back({model, name, quant::PrecisionConfig::from_json(c, path + ": " + name)});
      abits_by_model[model].insert(abits);
    }
  }
  return out;
}

void bm_forward(benchmark::State& state, const Config& c) {
  const int threads = int(state.range(0));
  set_num_threads(threads);
  nn::ModelOptions mo;
  mo.seed = 1;
  quant::QuantSpec spec;
  spec.precision = c.cfg;
  quant::BuiltModel b = quant::build_model(c.model, mo, spec);
  b.model->eval();
  const int batch = batch_of(c.model);
  Tensor x = Tensor::empty(Shape{batch, 1, 28, 28});
  lb::fill_random(x.data(), size_t(x.numel()), 7, -0.4f, 2.8f);  // the range of normalised (Fashion-)MNIST pixels
  NoGradGuard ng;
  (*b.model)(Var(x));  // calibrates the image input range and packs the weights
  for (auto _ : state) benchmark::DoNotOptimize((*b.model)(Var(x)).value().data());
  const quant::ModelCost cost = quant::model_cost(*b.model, Shape{1, 28, 28});
  state.counters["images_per_s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["size_bytes"] = double(cost.model_bytes());
  state.counters["avg_wbits"] = cost.avg_wbits();
  state.counters["bitops"] = double(cost.bitops);
  state.SetLabel(lb::label(kernels::active_isa(), threads, c.model + " batch " + std::to_string(batch) + " " + c.name));
}

}  // namespace

int main(int argc, char** argv) {
  ::benchmark::Initialize(&argc, argv);
  if (::benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* seed_env = std::getenv("LOWBIT_MIXED_SEED");
  const int seed = seed_env && *seed_env ? std::atoi(seed_env) : 1;
  std::map<std::string, std::set<int>> abits_by_model;
  std::vector<Config> configs = found_configs(seed, abits_by_model);
  for (const auto& [model, abits_set] : abits_by_model)
    for (int abits : abits_set)
      for (int w : {2, 3, 4, 8})
        configs.push_back({model, "uniform_w" + std::to_string(w) + "_a" + std::to_string(abits),
                           quant::PrecisionConfig::uniform(quant::Scheme::dorefa, w, abits, quant::EdgePolicy::q)});
  for (const Config& c : configs) {
    auto* b = ::benchmark::RegisterBenchmark(("BM_forward/" + c.model + "/" + c.name).c_str(), bm_forward, c);
    for (int t : lb::thread_counts()) b->Arg(t);
    b->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  ::lowbit::bench::add_machine_context();
  ::benchmark::AddCustomContext("mixed_seed", std::to_string(seed));
  ::benchmark::RunSpecifiedBenchmarks();
  ::benchmark::Shutdown();
  return 0;
}
