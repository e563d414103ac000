#include "bench/common/bench_util.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <new>
#include <random>
#include <sstream>

#include "bench/common/peers.h"
#include "kernels/omp.h"
#include "lowbit_version.h"

#ifndef LOWBIT_BENCH_CEILINGS_JSON
#define LOWBIT_BENCH_CEILINGS_JSON "bench/results/ceilings.json"
#endif

namespace lowbit::bench {

// ---- counters -----------------------------------------------------------------------------------------

void set_gops(benchmark::State& state, double ops_per_iteration) {
  // A rate counter is divided by the measured seconds when reported; 1e-9 turns ops/s into GOPS.
  state.counters["GOPS"] =
      benchmark::Counter(ops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

std::string ceilings_path() {
  const char* env = std::getenv("LOWBIT_CEILINGS");
  if (env && *env) return env;
  return LOWBIT_BENCH_CEILINGS_JSON;
}

namespace {

// kind -> threads -> best value, parsed once. A missing or malformed file gives an empty map (ceilings 0),
// with one message on stderr: benchmarks must still run before bench_ceilings has ever been run.
using CeilingMap = std::map<std::string, std::map<int, double>>;

CeilingMap load_ceilings() {
  CeilingMap m;
  const std::string path = ceilings_path();
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "lowbit bench: no ceilings file %s (pct_ceiling = 0; run bench_ceilings)\n", path.c_str());
    return m;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    for (auto& [kind, entry] : j.at("ceilings").items()) {
      if (!entry.contains("threads")) continue;
      for (auto& [t, v] : entry.at("threads").items()) {
        if (v.contains("best") && v.at("best").is_number()) m[kind][std::stoi(t)] = v.at("best").get<double>();
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit bench: cannot parse ceilings file %s: %s (pct_ceiling = 0)\n", path.c_str(),
                 e.what());
    m.clear();
  }
  return m;
}

const CeilingMap& ceilings() {
  static const CeilingMap m = load_ceilings();
  return m;
}

}  // namespace

double ceiling(const std::string& kind, int threads) {
  const auto& m = ceilings();
  auto k = m.find(kind);
  if (k == m.end()) return 0.0;
  auto t = k->second.find(threads);
  return t == k->second.end() ? 0.0 : t->second;
}

void set_pct_ceiling(benchmark::State& state, double amount_per_iteration, const std::string& kind, int threads) {
  const double c = ceiling(kind, threads);  // GOPS or GB/s: both are 1e9 units per second
  const double v = c > 0 ? 100.0 * amount_per_iteration * 1e-9 * static_cast<double>(state.iterations()) / c : 0.0;
  state.counters["pct_ceiling"] = benchmark::Counter(v, c > 0 ? benchmark::Counter::kIsRate : benchmark::Counter::kDefaults);
}

void set_gemm_counters(benchmark::State& state, int64_t M, int64_t N, int64_t K, const std::string& kind,
                       int threads) {
  const double ops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  set_gops(state, ops);
  set_pct_ceiling(state, ops, kind, threads);
}

// ---- labels ---------------------------------------------------------------------------------------------

std::string label(const char* isa, int threads, const std::string& shape) {
  return std::string("isa=") + isa + " threads=" + std::to_string(threads) + " " + shape;
}
std::string label(kernels::Isa isa, int threads, const std::string& shape) {
  return label(kernels::isa_name(isa), threads, shape);
}

std::string gemm_label(const char* isa, int threads, int64_t M, int64_t N, int64_t K, const std::string& extra) {
  std::string s = label(isa, threads, std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
  if (!extra.empty()) s += " " + extra;
  return s;
}
std::string gemm_label(kernels::Isa isa, int threads, int64_t M, int64_t N, int64_t K, const std::string& extra) {
  return gemm_label(kernels::isa_name(isa), threads, M, N, K, extra);
}

// ---- argument grids ---------------------------------------------------------------------------------------

namespace {
std::vector<int> parse_thread_counts() {
  const long online = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  const char* env = std::getenv("LOWBIT_BENCH_THREADS");
  std::string spec = (env && *env) ? env : "1,2";
  std::vector<int> out;
  std::stringstream ss(spec);
  std::string item;
  bool dropped = false;
  while (std::getline(ss, item, ',')) {
    int t = 0;
    try {
      t = std::stoi(item);
    } catch (...) {
      std::fprintf(stderr, "lowbit bench: LOWBIT_BENCH_THREADS='%s': '%s' is not a number, ignored\n",
                   spec.c_str(), item.c_str());
      continue;
    }
    if (t < 1) continue;
    if (t > online) { dropped = true; continue; }
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  if (dropped)
    std::fprintf(stderr, "lowbit bench: thread counts above the %ld online CPUs were dropped\n", online);
  if (out.empty()) out.push_back(1);
  return out;
}
}  // namespace

const std::vector<int>& thread_counts() {
  static const std::vector<int> t = parse_thread_counts();
  return t;
}

void add_args_with_threads(benchmark::internal::Benchmark* b, const std::vector<std::string>& arg_names,
                           const std::vector<std::vector<int64_t>>& rows) {
  std::vector<std::string> names = arg_names;
  names.push_back("threads");
  b->ArgNames(names);
  for (const auto& r : rows) {
    for (int t : thread_counts()) {
      std::vector<int64_t> a = r;
      a.push_back(t);
      b->Args(a);
    }
  }
  b->UseRealTime();
}

void add_gemm_args(benchmark::internal::Benchmark* b, const std::vector<GemmShape>& shapes) {
  std::vector<std::vector<int64_t>> rows;
  for (const auto& s : shapes) rows.push_back({s.M, s.N, s.K});
  add_args_with_threads(b, {"M", "N", "K"}, rows);
}

// ---- buffers ----------------------------------------------------------------------------------------------

void* aligned_zeroed(size_t bytes, size_t slack_bytes) {
  size_t total = bytes + slack_bytes;
  total = (total + 63) / 64 * 64;
  if (total == 0) total = 64;
  void* p = std::aligned_alloc(64, total);
  if (!p) throw std::bad_alloc();
  std::fill_n(static_cast<unsigned char*>(p), total, static_cast<unsigned char>(0));
  return p;
}

void fill_random(float* p, size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (size_t i = 0; i < n; ++i) p[i] = d(g);
}
void fill_random(int8_t* p, size_t n, uint64_t seed, int lo, int hi) {
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<int> d(std::max(lo, -128), std::min(hi, 127));
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<int8_t>(d(g));
}
void fill_random(uint8_t* p, size_t n, uint64_t seed, int lo, int hi) {
  std::mt19937_64 g(seed);
  std::uniform_int_distribution<int> d(std::max(lo, 0), std::min(hi, 255));
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(d(g));
}
void fill_random(uint64_t* p, size_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  for (size_t i = 0; i < n; ++i) p[i] = g();
}

// ---- machine context --------------------------------------------------------------------------------------

namespace {
std::string cpuinfo_field(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  const std::string k = key;
  while (std::getline(in, line)) {
    if (line.compare(0, k.size(), k) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

}  // namespace

// The SIMD-relevant subset of the CPU flags: what decides which kernels can run.
std::string cpu_simd_flags() {
  std::string flags = cpuinfo_field("flags");
  if (flags.empty()) flags = cpuinfo_field("Features");  // aarch64
  std::stringstream ss(flags);
  std::string f, out;
  const char* keep[] = {"sse4_2", "avx", "fma", "f16c", "bmi", "popcnt", "vnni", "amx", "gfni", "asimd", "sve", "neon"};
  while (ss >> f) {
    for (const char* k : keep) {
      if (f.find(k) != std::string::npos) {
        if (!out.empty()) out += ' ';
        out += f;
        break;
      }
    }
  }
  return out;
}

std::string cpu_model() {
  std::string m = cpuinfo_field("model name");
  if (m.empty()) m = cpuinfo_field("CPU part");
  return m.empty() ? "unknown" : m;
}

void add_machine_context() {
  static std::once_flag once;
  std::call_once(once, [] {
    benchmark::AddCustomContext("lowbit_version", LOWBIT_VERSION);
    benchmark::AddCustomContext("git_revision", LOWBIT_GIT_REVISION);
    benchmark::AddCustomContext("compiler", LOWBIT_COMPILER);
    benchmark::AddCustomContext("build_type", LOWBIT_BUILD_TYPE);
    benchmark::AddCustomContext("cpu_model", cpu_model());
    benchmark::AddCustomContext("cpu_flags_simd", cpu_simd_flags());
    benchmark::AddCustomContext("lowbit_isa", kernels::isa_name(kernels::active_isa()));
    const char* env = std::getenv("LOWBIT_ISA");
    benchmark::AddCustomContext("lowbit_isa_env", env && *env ? env : "unset");
    benchmark::AddCustomContext("omp_max_threads", std::to_string(kernels::default_threads()));
    std::string t;
    for (int x : thread_counts()) t += (t.empty() ? "" : ",") + std::to_string(x);
    benchmark::AddCustomContext("bench_threads", t);
    // The source tree's file is named relative to the repository (no machine path in committed results).
    const char* ceil_env = std::getenv("LOWBIT_CEILINGS");
    benchmark::AddCustomContext("ceilings_file", ceil_env && *ceil_env ? ceil_env : "bench/results/ceilings.json");
    std::string peers = "eigen";
#if defined(LOWBIT_HAVE_OPENBLAS)
    peers += ",openblas";
#endif
#if defined(LOWBIT_HAVE_DNNL)
    peers += ",dnnl";
#endif
    benchmark::AddCustomContext("peers", peers);
    for (const auto& [key, value] : peers::peer_context()) benchmark::AddCustomContext(key, value);
  });
}

}  // namespace lowbit::bench
