// lowbit bench-model MODEL: how fast a model runs on this machine, in the spirit of lce_benchmark_model and
// llama-bench. MODEL is a packed .lbm (run by the runtime through its C API, exactly as an embedding program
// would: one arena per batch size, weights repacked before timing) or a checkpoint / model.lbar (the training
// graph in eval mode without autograd: the baseline the runtime is compared with, fp32 or QAT).
//
// For every batch size × thread count: --warmup untimed runs, then timed runs (one clock reading per run) until
// at least --reps runs and --min-time seconds have passed; the median, p90, p99 (linear interpolation between
// order statistics), mean and min of the per-run times, images/s = batch / median, and the process's CPU time
// per run (all threads; on a shared machine the steadier figure for one thread). Also printed: the
// model's file bytes, weight bytes, arena bytes (per batch size), MACs per image (the sum of lowbit_op_info's
// macs; .lbm only), ISA (LOWBIT_ISA honoured), threads, CPU model and the git revision. --json FILE writes the
// same with every run's time. Inputs are seeded random pixels normalised as the model says (--seed), or the
// first images of a data set's test split (--dataset).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/utsname.h>
#include <time.h>

#include "apps/commands.h"
#include "apps/lbm_file.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "engine/threading.h"
#include "engine/var.h"
#include "kernels/isa.h"
#include "kernels/omp.h"
#include "lowbit_version.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "quant/quantized_model.h"
#include "runtime/include/lowbit.h"

namespace lowbit::app {

namespace {
struct BenchArgs {
  std::string model, dataset, data_dir, json;
  std::vector<int> batches{1, 64}, threads{1};
  int reps = 50, warmup = 5;
  double min_time = 1.0;
  uint64_t seed = 1;
};

struct Stats {
  std::vector<double> ms;  // every timed run
  double median = 0, p90 = 0, p99 = 0, mean = 0, min = 0;
  double cpu_ms = 0;  // CPU time of the process (all threads) per run, over all timed runs
};

// The q-quantile of sorted values, interpolating linearly between order statistics.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * double(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

Stats time_runs(const std::function<void()>& run, const BenchArgs& a) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < a.warmup; ++i) run();
  Stats s;
  const double cpu0 = process_cpu_seconds();
  const auto start = Clock::now();
  while (int(s.ms.size()) < a.reps || std::chrono::duration<double>(Clock::now() - start).count() < a.min_time) {
    const auto t0 = Clock::now();
    run();
    s.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  s.cpu_ms = 1e3 * (process_cpu_seconds() - cpu0) / double(s.ms.size());
  std::vector<double> sorted = s.ms;
  std::sort(sorted.begin(), sorted.end());
  s.median = quantile(sorted, 0.5), s.p90 = quantile(sorted, 0.9), s.p99 = quantile(sorted, 0.99);
  s.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / double(sorted.size());
  s.min = sorted.front();
  return s;
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string v = line.substr(line.find(':') + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "unknown";
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a.empty() ? "unknown" : a + " " + b + " " + c;
}

// The input pixels of `batch` images of c×h×w: the first images of the data set's test split (repeated when it
// has fewer), or seeded uniform random bytes.
std::vector<uint8_t> input_pixels(const BenchArgs& a, int64_t batch, int c, int h, int w, const std::string& what) {
  const int64_t per = int64_t(c) * h * w;
  std::vector<uint8_t> px(static_cast<size_t>(batch * per));
  if (a.dataset.empty()) {
    std::mt19937_64 g(a.seed);
    for (auto& p : px) p = static_cast<uint8_t>(g() >> 56);
    return px;
  }
  const nn::ImageDataset d = nn::load_dataset(a.dataset, "test", resolve_data_dir(a.data_dir));
  LOWBIT_CHECK(d.c == c && d.h == h && d.w == w, "{} takes {}x{}x{} images, {} has {}x{}x{}", what, c, h, w, d.name, d.c,
               d.h, d.w);
  LOWBIT_CHECK(d.n > 0, "{} has no test images", d.name);
  for (int64_t i = 0; i < batch; ++i)
    std::copy_n(d.pixels.data() + (i % d.n) * per, per, px.data() + i * per);
  return px;
}

struct Row {
  int batch, threads;
  uint64_t arena_bytes;
  Stats s;
};

struct ModelFacts {
  std::string kind, name;
  uint64_t file_bytes = 0, weight_bytes = 0, macs = 0;
  int c = 0, h = 0, w = 0, classes = 0;
};

std::vector<Row> bench_lbm(const BenchArgs& a, ModelFacts& f) {
  LoadedLbm lbm(a.model);
  lowbit_model& m = lbm.model;
  lowbit_info info;
  lbm.check(lowbit_model_info(&m, &info), "lowbit_model_info");
  f.kind = "lbm (runtime)", f.name = info.name, f.file_bytes = lbm.file_bytes(), f.weight_bytes = info.weight_bytes;
  f.c = m.in_c, f.h = m.in_h, f.w = m.in_w, f.classes = m.classes;
  for (uint32_t i = 0; i < info.ops; ++i) {
    lowbit_op_desc d;
    lbm.check(lowbit_op_info(&m, i, &d), "lowbit_op_info");
    f.macs += d.macs;
  }
  std::vector<Row> rows;
  for (int batch : a.batches) {
    lbm.check(lowbit_model_set_batch(&m, static_cast<uint32_t>(batch)), "lowbit_model_set_batch");
    lbm.allocate_arena();
    lbm.check(lowbit_prepare(&m, &lbm.arena), "lowbit_prepare");
    const std::vector<uint8_t> px = input_pixels(a, batch, m.in_c, m.in_h, m.in_w, "'" + a.model + "'");
    std::vector<float> x(px.size()), logits(static_cast<size_t>(batch) * static_cast<size_t>(m.classes));
    lbm.check(lowbit_normalize_u8(&m, px.data(), static_cast<size_t>(batch), x.data()), "lowbit_normalize_u8");
    const lowbit_input in{x.data(), batch, m.in_c, m.in_h, m.in_w};
    for (int t : a.threads) {
      m.threads = t;
      auto run = [&] {
        lowbit_output out{logits.data(), logits.size(), 0, 0};
        lbm.check(lowbit_run(&m, &lbm.arena, &in, &out), "lowbit_run");
      };
      rows.push_back({batch, t, lbm.arena.bytes, time_runs(run, a)});
    }
  }
  return rows;
}

std::vector<Row> bench_checkpoint(const BenchArgs& a, ModelFacts& f) {
  nn::LoadedModel lm;
  try {
    lm = nn::load_trained_model(a.model, "", quant::build_model_from_meta);
  } catch (const Error& e) {
    throw Error(fmt::format("'{}' is neither a .lbm model nor a checkpoint: {}", a.model, e.what()));
  }
  const nn::ModelOptions& mo = lm.model_options;
  f.kind = "checkpoint (training graph, eval mode)", f.name = lm.model_name;
  std::ifstream file(a.model, std::ios::binary | std::ios::ate);
  f.file_bytes = static_cast<uint64_t>(file.tellg());
  f.c = mo.in_channels, f.h = mo.height, f.w = mo.width, f.classes = mo.num_classes;
  f.weight_bytes = uint64_t(lm.model->num_parameters()) * sizeof(float);  // the fp32 parameters
  // The data set the model was trained on gives the normalisation (as `lowbit eval` does).
  std::vector<float> mean(size_t(f.c), 0.0f), stdev(size_t(f.c), 1.0f);
  const nlohmann::json& meta = lm.meta;
  if (meta.contains("config") && meta["config"].contains("dataset")) {
    const nn::DatasetInfo& di = nn::dataset_info(meta["config"]["dataset"].get<std::string>());
    if (di.mean.size() == size_t(f.c)) mean = di.mean, stdev = di.std;
  }
  lm.model->eval();
  NoGradGuard no_grad;
  std::vector<Row> rows;
  for (int batch : a.batches) {
    const std::vector<uint8_t> px = input_pixels(a, batch, f.c, f.h, f.w, "'" + a.model + "'");
    Tensor x(Shape{batch, f.c, f.h, f.w});
    const int64_t hw = int64_t(f.h) * f.w;
    for (size_t i = 0; i < px.size(); ++i) {
      const size_t ch = (i / size_t(hw)) % size_t(f.c);
      x.data()[i] = (float(px[i]) / 255.0f - mean[ch]) / stdev[ch];
    }
    const Var xv(x);
    for (int t : a.threads) {
      set_num_threads(t > 0 ? t : kernels::default_threads());
      auto run = [&] {
        const Var y = (*lm.model)(xv);
        LOWBIT_CHECK(y.value().shape().numel() == int64_t(batch) * f.classes, "'{}': unexpected output shape", a.model);
      };
      rows.push_back({batch, t, 0, time_runs(run, a)});
    }
  }
  return rows;
}

int run_bench_model(const BenchArgs& a) {
  ModelFacts f;
  const bool lbm = is_lbm_file(a.model);
  std::vector<Row> rows = lbm ? bench_lbm(a, f) : bench_checkpoint(a, f);
  const std::string isa = kernels::isa_name(kernels::active_isa());
  const std::string cpu = cpu_model();
  std::printf("model: %s (%s, %s)\n", a.model.c_str(), f.name.c_str(), f.kind.c_str());
  std::printf("input %dx%dx%d, %d classes | file %llu bytes, weights %llu bytes | MACs/image %s\n", f.c, f.h, f.w,
              f.classes, static_cast<unsigned long long>(f.file_bytes), static_cast<unsigned long long>(f.weight_bytes),
              lbm ? std::to_string(f.macs).c_str() : "n/a");
  std::printf("cpu: %s | isa %s | lowbit %s (%s) | load %s | inputs: %s\n\n", cpu.c_str(), isa.c_str(), LOWBIT_VERSION,
              LOWBIT_GIT_REVISION, loadavg().c_str(),
              a.dataset.empty() ? fmt::format("random, seed {}", a.seed).c_str() : a.dataset.c_str());
  std::printf("| %5s | %7s | %6s | %10s | %10s | %10s | %12s | %10s | %6s | %12s |\n", "batch", "threads", "isa",
              "median ms", "p90 ms", "p99 ms", "images/s", "cpu ms/run", "runs", "arena bytes");
  std::printf("| ----: | ------: | :----- | ---------: | ---------: | ---------: | -----------: | ---------: | -----: | "
              "----------: |\n");
  for (const Row& r : rows)
    std::printf("| %5d | %7d | %-6s | %10.4f | %10.4f | %10.4f | %12.1f | %10.4f | %6zu | %12s |\n", r.batch, r.threads,
                isa.c_str(), r.s.median, r.s.p90, r.s.p99, r.s.median > 0 ? 1e3 * r.batch / r.s.median : 0.0,
                r.s.cpu_ms, r.s.ms.size(), lbm ? std::to_string(r.arena_bytes).c_str() : "-");
  if (a.json.empty()) return 0;

  nlohmann::json j;
  struct utsname u {};
  uname(&u);
  const char* forced = std::getenv("LOWBIT_ISA");
  j["machine"] = {{"cpu_model", cpu},
                  {"arch", u.machine},
                  {"hostname", u.nodename},
                  {"online_cpus", kernels::default_threads()},
                  {"isa", isa},
                  {"lowbit_isa_env", forced ? forced : "unset"},
                  {"loadavg_after", loadavg()}};
  j["lowbit"] = {{"version", LOWBIT_VERSION},
                 {"git_revision", LOWBIT_GIT_REVISION},
                 {"compiler", LOWBIT_COMPILER},
                 {"build_type", LOWBIT_BUILD_TYPE}};
  j["model"] = {{"path", a.model},         {"kind", lbm ? "lbm" : "checkpoint"},
                {"name", f.name},          {"input", {f.c, f.h, f.w}},
                {"classes", f.classes},    {"file_bytes", f.file_bytes},
                {"weight_bytes", f.weight_bytes}};
  j["model"]["macs_per_image"] = lbm ? nlohmann::json(f.macs) : nlohmann::json(nullptr);
  j["settings"] = {{"reps", a.reps},
                   {"min_time_s", a.min_time},
                   {"warmup", a.warmup},
                   {"inputs", a.dataset.empty() ? fmt::format("random pixels, seed {}", a.seed) : a.dataset}};
  for (const Row& r : rows) {
    nlohmann::json row = {{"batch", r.batch},         {"threads", r.threads},     {"isa", isa},
                          {"median_ms", r.s.median},  {"p90_ms", r.s.p90},        {"p99_ms", r.s.p99},
                          {"mean_ms", r.s.mean},      {"min_ms", r.s.min},        {"cpu_ms_per_run", r.s.cpu_ms},        {"runs", r.s.ms.size()},
                          {"images_per_s", r.s.median > 0 ? 1e3 * r.batch / r.s.median : 0.0},
                          {"times_ms", r.s.ms}};
    row["arena_bytes"] = lbm ? nlohmann::json(r.arena_bytes) : nlohmann::json(nullptr);
    j["results"].push_back(row);
  }
  const std::string text = j.dump(1) + "\n";
  nn::write_file_atomic(a.json, text.data(), text.size());
  return 0;
}
}  // namespace

Command register_bench_model(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* s = app.add_subcommand(
      "bench-model", "Latency and throughput of a .lbm model on the runtime (or of a checkpoint's training graph in eval mode)");
  s->add_option("model", a->model, "A .lbm file written by `lowbit export`, or a model.lbar / checkpoint.lbar")
      ->required();
  s->add_option("--batch", a->batches, "Batch sizes, comma-separated")
      ->delimiter(',')->check(CLI::Range(1, 65536))->capture_default_str();
  s->add_option("--threads", a->threads, "Thread counts, comma-separated (0 = all cores)")
      ->delimiter(',')->check(CLI::Range(0, 1024))->capture_default_str();
  s->add_option("--reps", a->reps, "Timed runs at least")->check(CLI::Range(1, 10000000))->capture_default_str();
  s->add_option("--min-time", a->min_time, "Seconds of timed runs at least, per batch and thread count")
      ->check(CLI::Range(0.0, 3600.0))->capture_default_str();
  s->add_option("--warmup", a->warmup, "Untimed runs first")->check(CLI::Range(0, 1000000))->capture_default_str();
  s->add_option("--seed", a->seed, "Seed of the random input pixels")->capture_default_str();
  s->add_option("--dataset", a->dataset, "Time on the first images of this data set's test split instead")
      ->check(CLI::IsMember(dataset_choices()));
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_option("--json", a->json, "Also write the results (machine, settings, every run's time) to this JSON file");
  return {s, [a] { return run_bench_model(*a); }};
}

}  // namespace lowbit::app
