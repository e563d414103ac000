#include "lab/runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/threading.h"
#include "lab/grid_report.h"
#include "lab/train_run.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/progress.h"

namespace lowbit::lab {

namespace fs = std::filesystem;

namespace {

std::string quant_text(const GridCell& c) {
  if (!c.quant) return "fp32";
  const quant::PrecisionConfig& q = c.quant->precision;
  return fmt::format("{} w{} a{} first/last {}", quant::scheme_name(q.defaults.scheme), q.defaults.wbits,
                     q.defaults.abits, quant::edge_policy_name(q.first_last));
}

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  std::string s;
  for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
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
      std::ifstream f(gj);
      std::stringstream s;
      s << f.rdbuf();
      have = nlohmann::json::parse(s.str());
    } catch (const nlohmann::json::exception&) {
    }
    LOWBIT_CHECK(have == want, "'{}' holds the {} grid ({}), not '{}' ({}); choose another output directory",
                 out.string(), have.value("grid", "?"), have.value("variant", "?"), g.name, g.variant);
    return;
  }
  const std::string text = want.dump(2) + "\n";
  nn::write_file_atomic(gj.string(), text.data(), text.size());
}

}  // namespace

RunIdentity run_identity(const Grid& g, const GridCell& c, uint64_t seed) {
  RunIdentity id;
  id.config = run_config(g, c, seed).to_json();
  id.quant = c.quant;
  id.method = c.method;
  id.train_subset = c.train_subset;
  id.epochs = c.epochs;
  return id;
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
  nlohmann::json ds = nlohmann::json::object();
  for (const auto& [name, split] : data)
    ds[name] = {{"train", {{"n", split.first.n}, {"crc32", fmt::format("{:08x}", split.first.checksum)}}},
                {"test", {{"n", split.second.n}, {"crc32", fmt::format("{:08x}", split.second.checksum)}}}};
  const size_t total = g.cells.size() * g.seeds.size();
  GridReport report(g, out.string(), grid_provenance(g, o.command_line, ds), total, o.plot);

  GridOutcome res;
  double est_left = estimated_seconds(g), est_done_trained = 0.0, actual_trained = 0.0;
  size_t index = 0;
  for (uint64_t seed : g.seeds) {
    for (const GridCell& c : g.cells) {
      ++index;
      nn::TrainConfig cfg = run_config(g, c, seed);
      cfg.threads = o.threads;
      const fs::path dir = out / "runs" / run_name(c, seed);
      const auto& split = data.at(c.dataset);
      RunResult rr;
      rr.cell = c.label;
      rr.params = cell_params(c, split.first.n);
      rr.seed = seed;
      rr.epochs = c.epochs;
      est_left -= c.est_seconds;

      RunIdentity id = run_identity(g, c, seed);
      id.config = cfg.to_json();
      const RunDecision d = decide_run(dir.string(), id);
      LOWBIT_CHECK(d.action != RunAction::refuse, "cell '{}', seed {}: {}", c.id, seed, d.reason);
      if (d.action == RunAction::reuse) {
        rr.metric = 100.0 * d.test_acc;
        rr.wall_seconds = d.wall_seconds;
        ++res.reused;
        if (o.log)
          std::fprintf(o.log, "[%zu/%zu] %s seed %llu: %.2f%% (finished earlier, reused)\n", index, total, c.id.c_str(),
                       static_cast<unsigned long long>(seed), rr.metric);
      } else {
        TrainRunSpec spec;
        spec.config = cfg;
        spec.quant = c.quant;
        spec.method = c.method;
        std::error_code ec;
        if (!c.init_from.empty()) {
          const auto init = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& x) { return x.id == c.init_from; });
          spec.init = (out / "runs" / run_name(*init, seed) / "model.lbar").string();
          LOWBIT_CHECK(fs::exists(spec.init, ec), "cell '{}' starts from '{}', which does not exist", c.id, spec.init);
        }
        spec.out_dir = dir.string();
        spec.data_dir = o.data_dir;
        spec.progress = nn::ProgressMode::quiet;
        spec.train_subset = c.train_subset;
        spec.train_data = &split.first;
        spec.test_data = &split.second;
        spec.extra_results = {{"grid", {{"name", g.name}, {"variant", g.variant}, {"cell", c.id}, {"label", c.label}}}};
        // resume: continue from the checkpoint; train: start over (force clears a run that failed before
        // finishing its first epoch).
        spec.resume = d.action == RunAction::resume;
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
      report.write_tables(res.runs, false);
    }
    report.write_figure(res.runs);  // after each seed: a partial grid has a figure too
    res.plotted = report.plotted();
    res.plot_error = report.plot_error();
  }
  res.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  report.write_tables(res.runs, true);
  return res;
}

}  // namespace lowbit::lab
