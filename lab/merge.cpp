#include "lab/merge.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "lab/grid.h"
#include "lab/grid_report.h"
#include "lab/runner.h"

namespace lowbit::lab {

namespace fs = std::filesystem;

namespace {

using nlohmann::json;

struct Shard {
  std::string dir;
  json results;
};

json read_results(const std::string& dir) {
  const fs::path p = fs::path(dir) / "results.json";
  std::ifstream f(p);
  LOWBIT_CHECK(f.good(), "merge: '{}' has no results.json (not an output directory of lowbit reproduce)", dir);
  std::stringstream s;
  s << f.rdbuf();
  json j;
  try {
    j = json::parse(s.str());
  } catch (const json::exception& e) {
    LOWBIT_CHECK(false, "merge: '{}' is not valid JSON: {}", p.string(), e.what());
  }
  LOWBIT_CHECK(j.is_object() && j.contains("grid_definition") && j.contains("runs") && j["runs"].is_array(),
               "merge: '{}' is not the results.json of a grid run (no grid_definition or runs; written by an older "
               "lowbit?)",
               p.string());
  return j;
}

RunResult run_from_json(const json& j, const std::string& source) {
  try {
    RunResult r;
    r.cell = j.at("cell").get<std::string>();
    r.params = j.at("params").get<std::map<std::string, std::string>>();
    r.seed = j.at("seed").get<uint64_t>();
    r.metric = j.at("metric").get<double>();
    r.wall_seconds = j.value("wall_seconds", 0.0);
    r.epochs = j.value("epochs", 0);
    r.images = j.value("images", int64_t{0});
    if (j.contains("metrics")) r.metrics = j["metrics"];
    if (j.contains("layer_bits")) r.layer_bits = j["layer_bits"];
    return r;
  } catch (const json::exception& e) {
    LOWBIT_CHECK(false, "merge: a run in '{}' is malformed: {}", source, e.what());
  }
  return {};
}

std::string revision(const json& results) {
  const json p = results.value("provenance", json::object());
  return p.is_object() ? p.value("git_revision", std::string("?")) : std::string("?");
}

}  // namespace

MergeOutcome merge_shards(const MergeOptions& o) {
  LOWBIT_CHECK(!o.dirs.empty(), "merge: no shard directories given");
  LOWBIT_CHECK(!o.out_dir.empty(), "merge: no output directory (--out)");
  std::error_code ec;
  for (const std::string& d : o.dirs)
    LOWBIT_CHECK(!fs::equivalent(d, o.out_dir, ec), "merge: the output directory '{}' is one of the shards ('{}')",
                 o.out_dir, d);
  std::vector<Shard> shards;
  for (const std::string& d : o.dirs) shards.push_back({d, read_results(d)});

  const Shard& first = shards[0];
  const json& def = first.results["grid_definition"];
  for (const Shard& s : shards) {
    const json& other = s.results["grid_definition"];
    const std::string a = fmt::format("{} ({})", def.value("name", "?"), def.value("variant", "?"));
    const std::string b = fmt::format("{} ({})", other.value("name", "?"), other.value("variant", "?"));
    LOWBIT_CHECK(a == b, "merge: '{}' holds grid {} and '{}' grid {}; shards of different grids cannot be merged",
                 first.dir, a, s.dir, b);
    LOWBIT_CHECK(other == def,
                 "merge: '{}' and '{}' hold different definitions of grid {} (cells, seeds, recipe or claims differ); "
                 "run every shard from the same grid file and revision",
                 first.dir, s.dir, a);
    LOWBIT_CHECK(revision(s.results) == revision(first.results),
                 "merge: '{}' was run at git revision {} and '{}' at {}; shards of different revisions cannot be merged",
                 first.dir, revision(first.results), s.dir, revision(s.results));
  }
  const Grid g = grid_from_json(def, fs::path(first.dir).filename().string() + "/results.json: grid_definition",
                                [](const std::string& f) -> std::string {
                                  LOWBIT_CHECK(false, "merged grids carry their notes inline, not '{}'", f);
                                  return "";
                                });

  std::vector<RunResult> runs, teacher_runs;
  std::map<std::pair<std::string, uint64_t>, std::string> run_home, teacher_crc, teacher_home;
  json teacher_models = json::array(), merged_from = json::array();
  for (const Shard& s : shards) {
    for (const json& j : s.results["runs"]) {
      RunResult r = run_from_json(j, s.dir);
      const auto key = std::make_pair(r.cell, r.seed);
      LOWBIT_CHECK(!run_home.count(key), "merge: run '{}' seed {} is in both '{}' and '{}'", r.cell, r.seed,
                   run_home[key], s.dir);
      run_home[key] = s.dir;
      runs.push_back(std::move(r));
    }
    std::map<std::pair<std::string, uint64_t>, std::string> crcs;  // of this shard
    for (const json& t : s.results.value("teacher_models", json::array()))
      crcs[{kTeacherRowPrefix + t.value("teacher", ""), t.value("seed", uint64_t{0})}] =
          t.value("weights_crc32", t.value("crc32", ""));
    for (const json& j : s.results.value("teacher_runs", json::array())) {
      RunResult r = run_from_json(j, s.dir);
      const auto key = std::make_pair(r.cell, r.seed);
      const std::string crc = crcs.count(key) ? crcs[key] : "";
      if (teacher_crc.count(key)) {
        LOWBIT_CHECK(teacher_crc[key] == crc,
                     "merge: {} seed {} differs between '{}' (weights CRC-32 {}) and '{}' ({}): the cells of that "
                     "seed did not share one teacher; train the teachers once (--teachers-only) and give the shards "
                     "--teachers DIR",
                     r.cell, r.seed, teacher_home[key], teacher_crc[key], s.dir, crc);
        continue;
      }
      teacher_crc[key] = crc;
      teacher_home[key] = s.dir;
      teacher_runs.push_back(std::move(r));
    }
    for (const json& t : s.results.value("teacher_models", json::array())) {
      const auto key = std::make_pair(kTeacherRowPrefix + t.value("teacher", ""), t.value("seed", uint64_t{0}));
      if (teacher_home[key] != s.dir) continue;
      json m = t;
      m["path"] = fs::path(s.dir).filename().string() + "/" + t.value("path", "");
      teacher_models.push_back(std::move(m));
    }
    const json p = s.results.value("provenance", json::object());
    merged_from.push_back({{"dir", fs::path(s.dir).filename().string()},
                           {"shard", s.results.value("shard", std::string("all"))},
                           {"runs", s.results["runs"].size()},
                           {"started_at", p.value("started_at", "")},
                           {"finished_at", p.value("finished_at", "")},
                           {"threads", p.value("threads", json())},
                           {"cpu", p.value("cpu", "")}});
  }

  json prov = first.results.value("provenance", json::object());
  prov.erase("shard");
  prov.erase("runs_finished");
  prov.erase("wall_seconds_this_invocation");
  prov["command_line"] = o.command_line;
  prov["merged_shards"] = shards.size();
  ExpectedRuns expected;
  for (const PlannedRun& r : plan_runs(g)) expected.emplace_back(g.cells[r.cell].label, r.seed);

  fs::create_directories(o.out_dir, ec);
  LOWBIT_CHECK(!ec, "merge: cannot create output directory '{}': {}", o.out_dir, ec.message());
  GridReport report(g, o.out_dir, prov, expected, o.plot);
  report.set_extra("teacher_models", teacher_models);
  report.set_extra("merged_from", merged_from);
  report.write_tables(runs, teacher_runs, true);
  report.write_figures(runs, teacher_runs);

  MergeOutcome out;
  out.grid = g.name;
  out.variant = g.variant;
  out.runs = runs.size();
  out.teacher_runs = teacher_runs.size();
  for (const auto& [label, seed] : expected)
    if (!run_home.count({label, seed})) ++out.missing;
  out.plotted = report.plotted();
  out.plot_error = report.plot_error();
  return out;
}

MergeOutcome replot(const std::string& dir, bool plot) {
  const fs::path rp = fs::path(dir) / "results.json";
  std::ifstream f(rp);
  LOWBIT_CHECK(f.good(), "replot: '{}' has no results.json (not an output directory of lowbit reproduce)", dir);
  std::stringstream text;
  text << f.rdbuf();
  json r;
  try {
    r = json::parse(text.str());
  } catch (const json::exception& e) {
    LOWBIT_CHECK(false, "replot: '{}' is not valid JSON: {}", rp.string(), e.what());
  }
  LOWBIT_CHECK(r.is_object() && r.contains("runs") && r["runs"].is_array(),
               "replot: '{}' holds no runs (not the results.json of a grid run)", rp.string());
  Grid g;
  if (r.contains("grid_definition")) {
    g = grid_from_json(r["grid_definition"], rp.string() + ": grid_definition", [](const std::string& file) -> std::string {
      LOWBIT_CHECK(false, "replot: a recorded grid carries its notes inline, not '{}'", file);
      return "";
    });
  } else {  // an older lowbit recorded only the table's name, in grid.json
    const fs::path gp = fs::path(dir) / "grid.json";
    std::ifstream gf(gp);
    LOWBIT_CHECK(gf.good(), "replot: '{}' records no grid_definition and '{}' does not exist", rp.string(), gp.string());
    json named;
    try {
      gf >> named;
    } catch (const json::exception& e) {
      LOWBIT_CHECK(false, "replot: '{}' is not valid JSON: {}", gp.string(), e.what());
    }
    LOWBIT_CHECK(named.is_object() && named.value("grid", json()).is_string(),
                 "replot: '{}' names no grid (expected {{\"grid\": <table>, \"variant\": \"full\"|\"quick\"}})",
                 gp.string());
    g = load_named_grid(named["grid"].get<std::string>(), named.value("variant", std::string("full")) == "quick");
  }
  std::vector<RunResult> runs, teacher_runs;
  for (const json& j : r["runs"]) runs.push_back(run_from_json(j, dir));
  for (const json& j : r.value("teacher_runs", json::array())) teacher_runs.push_back(run_from_json(j, dir));
  for (const RunResult& run : runs)
    LOWBIT_CHECK(std::any_of(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return c.label == run.cell; }),
                 "replot: '{}' holds a run of cell '{}', which grid {} ({}) does not have", rp.string(), run.cell,
                 g.name, g.variant);
  GridReport report(g, dir, json::object(), {}, plot);
  report.write_figures(runs, teacher_runs);
  MergeOutcome out;
  out.grid = g.name;
  out.variant = g.variant;
  out.runs = runs.size();
  out.teacher_runs = teacher_runs.size();
  out.plotted = report.plotted();
  out.plot_error = report.plot_error();
  return out;
}

}  // namespace lowbit::lab
