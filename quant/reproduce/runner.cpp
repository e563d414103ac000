#include "quant/reproduce/runner.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/threading.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/progress.h"
#include "quant/reproduce/train_run.h"

namespace lowbit::quant::reproduce {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string first_line_with(const std::string& path, const std::string& prefix) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

// Facts a reader needs to judge the wall times: the CPU and how busy the machine was when the grid started.
nlohmann::json machine_info() {
  nlohmann::json m = nlohmann::json::object();
  std::string cpu = first_line_with("/proc/cpuinfo", "model name");
  if (const size_t colon = cpu.find(':'); colon != std::string::npos) m["cpu"] = cpu.substr(colon + 2);
  std::string load = slurp("/proc/loadavg");
  if (!load.empty()) m["loadavg_at_start"] = load.substr(0, load.find('\n'));
  return m;
}

std::string quant_text(const GridCell& c) {
  if (!c.quant) return "fp32";
  const PrecisionConfig& q = c.quant->precision;
  return fmt::format("{} w{} a{} first/last {}", scheme_name(q.defaults.scheme), q.defaults.wbits, q.defaults.abits,
                     edge_policy_name(q.first_last));
}

std::map<std::string, std::string> cell_params(const GridCell& c, const nn::ImageDataset* train) {
  const Precision d = c.quant ? c.quant->precision.defaults : Precision{};
  const bool ternary = d.scheme == Scheme::twn;
  std::map<std::string, std::string> p = {
      {"model", c.model},
      {"dataset", c.dataset},
      {"method", c.method},
      {"W", !c.quant ? "32" : ternary ? "t" : std::to_string(d.wbits)},
      {"A", !c.quant ? "32" : std::to_string(d.abits)},
      {"first/last", !c.quant                                  ? "–"
                     : c.quant->precision.first_last == EdgePolicy::q ? "quantized"
                                                                      : edge_policy_name(c.quant->precision.first_last)},
      {"init", c.init_from.empty() ? "random" : c.init_from},
  };
  const int64_t n = train ? train->n : 0;
  p["train images"] = std::to_string(c.train_subset > 0 && (n == 0 || c.train_subset < n) ? c.train_subset : n);
  return p;
}

// What identifies a run's configuration in its results.json (threads left out: they change timing, not meaning).
nlohmann::json comparable_config(nlohmann::json cfg) {
  cfg.erase("threads");
  return cfg;
}

struct Finished {
  double acc = 0, wall = 0;
  int epochs = 0;
};

// The result of a finished run of exactly this configuration in dir; nullopt when the run has not finished.
// A finished or started run of another configuration is an error (never silently mixed into the table).
std::optional<Finished> finished_run(const fs::path& dir, const nn::TrainConfig& cfg, const GridCell& c) {
  const fs::path rj = dir / "results.json";
  std::error_code ec;
  if (!fs::exists(rj, ec)) return std::nullopt;
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(slurp(rj));
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "'{}' is not valid JSON ({}); delete the run directory '{}' to redo the run", rj.string(),
                 e.what(), dir.string());
  }
  nlohmann::json want = comparable_config(cfg.to_json()), have = comparable_config(r.value("config", nlohmann::json()));
  want.erase("epochs");
  have.erase("epochs");
  // The quantization the run recorded (in either record form) against the cell's.
  const nlohmann::json want_quant = c.quant ? c.quant->to_json() : nlohmann::json();
  const nlohmann::json have_quant =
      r.contains("quant") ? spec_from_record(r["quant"], rj.string()).to_json() : nlohmann::json();
  const int64_t have_subset = r.value("train_subset", int64_t{0});
  LOWBIT_CHECK(want == have && want_quant == have_quant && have_subset == c.train_subset,
               "run directory '{}' holds a different run than cell '{}' (recorded config {}, quant {}, training subset "
               "{}; the grid wants {}, {}, {}); delete it or choose another --out",
               dir.string(), c.id, have.dump(), have_quant.dump(), have_subset, want.dump(), want_quant.dump(),
               c.train_subset);
  if (!r.contains("test") || !r["epochs"].is_array() || static_cast<int>(r["epochs"].size()) != c.epochs)
    return std::nullopt;  // interrupted (or fewer epochs than the grid asks now): resumed from its checkpoint
  Finished f;
  f.acc = r["test"].at("acc").get<double>();
  f.wall = r.value("wall_seconds", 0.0);
  f.epochs = static_cast<int>(r["epochs"].size());
  return f;
}

// <out>/grid.json names the grid a directory holds; another grid or variant in the same directory is refused
// (the quick and full baselines share cell ids but not epochs).
void claim_out_dir(const Grid& g, const fs::path& out) {
  std::error_code ec;
  fs::create_directories(out / "runs", ec);
  LOWBIT_CHECK(!ec, "cannot create output directory '{}': {}", (out / "runs").string(), ec.message());
  const fs::path gj = out / "grid.json";
  const nlohmann::json want = {{"grid", g.name}, {"variant", g.variant}};
  if (fs::exists(gj, ec)) {
    nlohmann::json have;
    try {
      have = nlohmann::json::parse(slurp(gj));
    } catch (const nlohmann::json::exception&) {
    }
    LOWBIT_CHECK(have == want, "'{}' holds the {} grid ({}), not '{}' ({}); choose another --out", out.string(),
                 have.value("grid", "?"), have.value("variant", "?"), g.name, g.variant);
    return;
  }
  const std::string text = want.dump(2) + "\n";
  nn::write_file_atomic(gj.string(), text.data(), text.size());
}

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  std::string s;
  for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

std::string panel_title(const GridCell& c) {
  const size_t colon = c.label.find(':');
  return colon == std::string::npos ? c.model + " " + c.dataset : c.label.substr(0, colon);
}

}  // namespace

nn::ResultsTable make_table(const Grid& g, const std::vector<nn::RunResult>& runs, const nlohmann::json& provenance) {
  nn::ResultsTable t;
  t.name = g.name;
  t.title = g.title;
  t.metric_name = "test top-1 %";
  t.param_columns = {"model", "dataset", "method", "W", "A", "first/last", "train images"};
  t.runs = runs;
  t.claims = g.claims;
  t.provenance = provenance;
  t.notes = g.notes;
  return t;
}

nn::PlotFigure make_figure(const Grid& g, const std::vector<nn::RunResult>& runs) {
  nn::PlotFigure fig;
  fig.title = g.title;
  fig.panel_height = 460;
  const std::vector<nn::CellSummary> cells = nn::summarize(runs);
  // Methods in grid order give each method one colour in every panel.
  std::vector<std::string> methods, panels;
  for (const GridCell& c : g.cells) {
    if (std::find(methods.begin(), methods.end(), c.method) == methods.end()) methods.push_back(c.method);
    if (std::find(panels.begin(), panels.end(), panel_title(c)) == panels.end()) panels.push_back(panel_title(c));
  }
  for (const std::string& panel : panels) {
    nn::PlotSpec spec;
    spec.title = panel;
    spec.xlabel = "precision (weights / activations)";
    spec.ylabel = "test top-1 (%)";
    spec.xtics = g.precision_order;
    for (size_t m = 0; m < methods.size(); ++m) {
      std::vector<std::pair<double, const nn::CellSummary*>> pts;
      for (const GridCell& c : g.cells) {
        if (panel_title(c) != panel || c.method != methods[m]) continue;
        const auto it = std::find_if(cells.begin(), cells.end(), [&](const nn::CellSummary& s) { return s.cell == c.label; });
        const auto x = std::find(g.precision_order.begin(), g.precision_order.end(), c.precision);
        if (it == cells.end() || x == g.precision_order.end()) continue;
        pts.emplace_back(static_cast<double>(x - g.precision_order.begin()), &*it);
      }
      if (pts.empty()) continue;  // not run (yet): no empty data block, gnuplot would refuse it
      std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      nn::PlotSeries s;
      s.label = methods[m];
      s.style = static_cast<int>(m) + 1;
      for (const auto& [x, cs] : pts) {
        s.x.push_back(x);
        s.y.push_back(cs->mean);
        s.err.push_back(cs->stddev);
      }
      spec.series.push_back(std::move(s));
    }
    if (!spec.series.empty()) fig.panels.push_back(std::move(spec));
  }
  return fig;
}

std::string describe_grid(const Grid& g) {
  std::string s = fmt::format("{} ({}): {} cells x {} seed{} ({}) = {} runs\n", g.name, g.variant, g.cells.size(),
                              g.seeds.size(), g.seeds.size() == 1 ? "" : "s", seeds_text(g.seeds),
                              g.cells.size() * g.seeds.size());
  s += fmt::format("recipe: {} lr {:g} momentum {:g} {} schedule, weight decay {:g}, batch {}\n", g.base.optimizer,
                   g.base.lr, g.base.momentum, g.base.schedule, g.base.weight_decay, g.base.batch_size);
  s += fmt::format("{:<32} {:<9} {:<14} {:<36} {:>6} {:>8} {:<22} {:>9}\n", "cell", "model", "dataset", "quantization",
                   "epochs", "train", "init", "est/run");
  for (const GridCell& c : g.cells)
    s += fmt::format("{:<32} {:<9} {:<14} {:<36} {:>6} {:>8} {:<22} {:>9}\n", c.id, c.model, c.dataset, quant_text(c),
                     c.epochs, c.train_subset > 0 ? std::to_string(c.train_subset) : std::string("all"),
                     c.init_from.empty() ? "random" : c.init_from, nn::format_duration(c.est_seconds));
  s += fmt::format("estimated total: {} on an idle 2-core machine (longer when the machine is shared)\n",
                   nn::format_duration(estimated_seconds(g)));
  return s;
}

GridOutcome run_grid(const Grid& g, const RunnerOptions& o) {
  validate_grid(g);
  LOWBIT_CHECK(!o.out_dir.empty(), "reproduce: no output directory");
  const auto t_start = std::chrono::steady_clock::now();
  if (o.threads > 0) set_num_threads(o.threads);

  // Every data set first, so missing data fails before hours of training.
  std::map<std::string, std::pair<nn::ImageDataset, nn::ImageDataset>> data;
  for (const GridCell& c : g.cells) {
    if (data.count(c.dataset)) continue;
    if (o.load_data) {
      data[c.dataset] = o.load_data(c.dataset);
    } else {
      nn::ImageDataset train = nn::load_dataset(c.dataset, "train", o.data_dir);  // train first: its error first
      data[c.dataset] = {std::move(train), nn::load_dataset(c.dataset, "test", o.data_dir)};
    }
  }

  const fs::path out(o.out_dir);
  claim_out_dir(g, out);

  nlohmann::json prov = nn::build_info();
  prov["grid"] = g.name;
  prov["variant"] = g.variant;
  prov["seeds"] = g.seeds;
  prov["command_line"] = o.command_line;
  prov["started_at"] = utc_now();
  const nlohmann::json machine = machine_info();
  for (auto it = machine.begin(); it != machine.end(); ++it) prov[it.key()] = it.value();
  nlohmann::json ds = nlohmann::json::object();
  for (const auto& [name, split] : data)
    ds[name] = {{"train", {{"n", split.first.n}, {"crc32", fmt::format("{:08x}", split.first.checksum)}}},
                {"test", {{"n", split.second.n}, {"crc32", fmt::format("{:08x}", split.second.checksum)}}}};
  prov["datasets"] = ds;

  GridOutcome res;
  const size_t total = g.cells.size() * g.seeds.size();
  double est_left = estimated_seconds(g), est_done_trained = 0.0, actual_trained = 0.0;
  auto write_tables = [&](bool finished) {
    nlohmann::json p = prov;
    p["runs_finished"] = fmt::format("{} of {}", res.runs.size(), total);
    p["wall_seconds_this_invocation"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    if (finished) p["finished_at"] = utc_now();
    nn::write_results(out.string(), make_table(g, res.runs, p));
  };
  auto write_figure = [&] {
    const nn::PlotFigure fig = make_figure(g, res.runs);
    if (fig.panels.empty()) return;
    std::string why;
    res.plotted = o.plot && nn::write_plot(out.string(), "accuracy_vs_bits", fig, &why);
    if (!o.plot) why = "plotting disabled";
    res.plot_error = res.plotted ? "" : why;
  };

  size_t index = 0;
  for (uint64_t seed : g.seeds) {
    for (const GridCell& c : g.cells) {
      ++index;
      const nn::TrainConfig cfg = [&] {
        nn::TrainConfig t = run_config(g, c, seed);
        t.threads = o.threads;
        return t;
      }();
      const fs::path dir = out / "runs" / run_name(c, seed);
      const auto& split = data.at(c.dataset);
      nn::RunResult rr;
      rr.cell = c.label;
      rr.params = cell_params(c, &split.first);
      rr.seed = seed;
      rr.epochs = c.epochs;
      est_left -= c.est_seconds;
      std::error_code ec;
      if (const std::optional<Finished> f = finished_run(dir, cfg, c)) {
        rr.metric = 100.0 * f->acc;
        rr.wall_seconds = f->wall;
        ++res.reused;
        if (o.log)
          std::fprintf(o.log, "[%zu/%zu] %s seed %llu: %.2f%% (finished earlier, reused)\n", index, total, c.id.c_str(),
                       static_cast<unsigned long long>(seed), rr.metric);
      } else {
        TrainRunSpec spec;
        spec.config = cfg;
        spec.quant = c.quant;
        if (!c.init_from.empty()) {
          const auto init = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& x) { return x.id == c.init_from; });
          spec.init = (out / "runs" / run_name(*init, seed) / "model.lbar").string();
          LOWBIT_CHECK(fs::exists(spec.init, ec), "cell '{}' starts from '{}', which does not exist",
                       c.id, spec.init);
        }
        spec.out_dir = dir.string();
        spec.data_dir = o.data_dir;
        spec.progress = nn::ProgressMode::quiet;
        spec.train_subset = c.train_subset;
        spec.train_data = &split.first;
        spec.test_data = &split.second;
        spec.extra_results = {{"grid", {{"name", g.name}, {"variant", g.variant}, {"cell", c.id}, {"label", c.label}}}};
        // A checkpoint means an interrupted run: continue it. No checkpoint: start over (force clears a run
        // that failed before finishing its first epoch).
        spec.resume = fs::exists(dir / "checkpoint.lbar", ec);
        spec.force = !spec.resume;
        const auto t0 = std::chrono::steady_clock::now();
        TrainRunResult r;
        try {
          r = run_training(spec);
        } catch (const Error& e) {
          LOWBIT_CHECK(false, "run {} (cell '{}', seed {}) failed: {}", dir.string(), c.id, seed, e.what());
        }
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rr.metric = 100.0 * r.test_acc;
        rr.wall_seconds = r.wall_seconds;
        ++res.trained;
        est_done_trained += c.est_seconds;
        actual_trained += took;
        if (o.log) {
          // ETA: the estimate of the runs left, scaled by how this machine compares with the estimates so far.
          const double scale = est_done_trained > 0 ? actual_trained / est_done_trained : 1.0;
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
          std::fprintf(o.log, "[%zu/%zu] %s seed %llu: %.2f%% in %s | elapsed %s, ETA %s\n", index, total,
                       c.id.c_str(), static_cast<unsigned long long>(seed), rr.metric, nn::format_duration(took).c_str(),
                       nn::format_duration(elapsed).c_str(), nn::format_duration(est_left * scale).c_str());
        }
      }
      if (o.log) std::fflush(o.log);
      res.runs.push_back(rr);
      write_tables(false);
    }
    write_figure();  // after each seed: a partial grid has a figure too
  }
  res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  write_tables(true);
  return res;
}

}  // namespace lowbit::quant::reproduce
