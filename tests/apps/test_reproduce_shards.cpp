// Teachers, shards and merge of `lowbit reproduce` on a tiny in-memory grid (1-epoch LeNet-5 runs on 96
// images): a teacher is trained once per seed, shared by every cell of that seed that names it (same file, same
// CRC-32 in every run's record), cached and reused on resume; two shards merged give the unsharded table; merge
// refuses shards of other grids, revisions, duplicated runs and differing teachers; the teacher pass and
// --teachers DIR; the CLI's --shard, --dry-run and merge.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "lab/grid.h"
#include "lab/merge.h"
#include "lab/runner.h"
#include "quant/methods/run.h"
#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;
using namespace lowbit::lab;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
json read_json(const fs::path& p) { return json::parse(read_text(p)); }

fs::path scratch(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_shards_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

// A teacher per seed; DoReFa from the teacher, KD from the teacher, a plain fp32 cell; two seeds; three claims.
json tiny_grid_json() {
  return json::parse(R"({
    "name": "tshard", "variant": "test", "title": "Tiny shards", "base": {"lr": 0.05, "batch_size": 32},
    "seeds": [1, 2], "precision_order": ["W1A1", "fp32"],
    "teachers": [{"id": "t", "model": "lenet5", "dataset": "mnist", "epochs": 1, "est_seconds": 1}],
    "cells": [
      {"id": "dorefa", "label": "T: DoReFa W1A1", "model": "lenet5", "dataset": "mnist", "method_label": "DoReFa",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1}, "teacher": "t",
       "init_from": "teacher", "epochs": 1, "est_seconds": 1},
      {"id": "kd", "label": "T: KD W1A1", "model": "lenet5", "dataset": "mnist", "method_label": "KD",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1},
       "method": {"name": "kd", "temperature": 2}, "teacher": "t", "init_from": "teacher", "epochs": 1, "est_seconds": 1},
      {"id": "fp32", "label": "T: fp32", "model": "lenet5", "dataset": "mnist", "method_label": "fp32",
       "precision_label": "fp32", "precision": "fp32", "epochs": 1, "est_seconds": 1}
    ],
    "claims": [
      {"id": "kd_better", "text": "KD beats DoReFa", "rule": "better", "pairs": [{"method": "kd", "baseline": "dorefa"}]},
      {"id": "not_worse", "text": "DoReFa loses at most 50 points", "rule": "not_worse", "tolerance": 50,
       "pairs": [{"method": "dorefa", "baseline": "teacher:t"}]},
      {"id": "thr", "text": "the teacher reaches 1 %", "rule": "threshold", "cell": "teacher:t", "threshold": 1}
    ],
    "notes": "tiny"
  })");
}

Grid tiny_grid() {
  return grid_from_json(tiny_grid_json(), "tshard.json", [](const std::string&) -> std::string { return ""; });
}

RunnerOptions options(const fs::path& out) {
  RunnerOptions o;
  o.out_dir = out.string();
  o.threads = 1;
  o.command_line = "test_reproduce_shards";
  o.log = nullptr;
  o.plot = false;
  o.load_data = [](const std::string& name) {
    REQUIRE(name == "mnist");
    return std::make_pair(lowbit::test::synthetic_bars(96, 11, "mnist/train"),
                          lowbit::test::synthetic_bars(40, 12, "mnist/test"));
  };
  return o;
}

// cell -> (values by seed) of a results.json's "cells" or "teachers".
std::map<std::string, json> values_of(const json& results, const char* key) {
  std::map<std::string, json> m;
  for (const json& c : results.at(key)) m[c.at("cell").get<std::string>()] = {c.at("seeds"), c.at("values")};
  return m;
}

std::string merge_error(const MergeOptions& m) {
  try {
    merge_shards(m);
  } catch (const lowbit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("reproduce teachers: one fp32 teacher per seed, shared by the cells of that seed, cached and resumed") {
  const fs::path out = scratch("teachers");
  const Grid g = tiny_grid();
  const GridOutcome first = run_grid(g, options(out));
  CHECK(first.teachers_trained == 2);
  CHECK(first.teachers_reused == 0);
  CHECK(first.trained == 6);
  REQUIRE(first.teacher_runs.size() == 2);
  CHECK(first.teacher_runs[0].cell == "teacher:t");
  CHECK(first.teacher_runs[0].images == 96);

  // The teachers' files and CRCs; every cell of a seed that names the teacher records the same one.
  std::map<uint64_t, std::string> crc;
  for (uint64_t seed : {1, 2}) {
    const fs::path model = out / "teachers" / ("t_seed" + std::to_string(seed)) / "model.lbar";
    REQUIRE(fs::exists(model));
    crc[seed] = fmt::format("{:08x}", lowbit::quant::archive_crc32(model.string()));
    for (const char* cell : {"dorefa", "kd"}) {
      CAPTURE(cell);
      const json r = read_json(out / "runs" / (std::string(cell) + "_seed" + std::to_string(seed)) / "results.json");
      CHECK(r.at("teacher").at("crc32") == crc[seed]);
      CHECK(r.at("teacher").at("path") == "teachers/t_seed" + std::to_string(seed) + "/model.lbar");
    }
    const json kd = read_json(out / "runs" / ("kd_seed" + std::to_string(seed)) / "results.json");
    CHECK(kd.at("method").at("teacher").at("crc32") == crc[seed]);  // the method distilled from that file
    CHECK(kd.at("method").at("settings").at("temperature") == 2);
  }
  CHECK(crc[1] != crc[2]);
  const json res = read_json(out / "results.json");
  REQUIRE(res.at("teacher_models").size() == 2);
  CHECK(res["teacher_models"][0]["crc32"] == crc[1]);
  CHECK(res["teacher_models"][0]["path"] == "teachers/t_seed1/model.lbar");
  CHECK(res.at("teachers").size() == 1);
  CHECK(res.at("missing").empty());
  // Every run reports its size, bits and BitOPs; a plain fp32 model has 32-bit weights.
  CHECK(res["runs"][2]["metrics"]["avg_wbits"] == 32.0);
  CHECK(res["runs"][0]["metrics"]["avg_wbits"].get<double>() < 32.0);
  CHECK(res["runs"][0]["layer_bits"].size() == 5);
  const std::string md = read_text(out / "table.md");
  CHECK(md.find("## Teachers") != std::string::npos);
  CHECK(md.find("| teacher:t | lenet5 | mnist |") != std::string::npos);
  CHECK(md.find("\"KD beats DoReFa\"") != std::string::npos);
  CHECK(md.find("**held**") != std::string::npos);  // the threshold claim on the teacher (≥ 1 %)
  // --no-plot still leaves the figure's data and script.
  CHECK(fs::exists(out / "plot.dat"));
  CHECK(fs::exists(out / "plot.gp"));
  CHECK_FALSE(fs::exists(out / "plot.svg"));

  // Resume: nothing is trained again.
  const GridOutcome again = run_grid(g, options(out));
  CHECK(again.teachers_trained == 0);
  CHECK(again.teachers_reused == 2);
  CHECK(again.trained == 0);
  CHECK(again.reused == 6);

  // A lost teacher is retrained (same seed and threads: the same file), and its cells' runs stay valid.
  fs::remove_all(out / "teachers" / "t_seed2");
  const GridOutcome third = run_grid(g, options(out));
  CHECK(third.teachers_trained == 1);
  CHECK(third.reused == 6);  // the same weights (the archive's own CRC differs: its history has wall times)

  // A cell whose run used another teacher is refused, naming both checksums.
  const fs::path kd1 = out / "runs" / "kd_seed1" / "results.json";
  json r = read_json(kd1);
  CHECK(r["teacher"]["weights_crc32"] == weights_crc32((out / "teachers" / "t_seed1" / "model.lbar").string()));
  r["teacher"]["weights_crc32"] = "00000000";
  std::ofstream(kd1) << r.dump();
  CHECK_THROWS_WITH_AS(run_grid(g, options(out)), doctest::Contains("trained with another teacher (CRC-32 00000000"),
                       lowbit::Error);
  fs::remove_all(out);
}

TEST_CASE("reproduce shards: two shards merged equal the unsharded table, and merge refuses mixed inputs") {
  const fs::path root = scratch("merge");
  const Grid g = tiny_grid();
  run_grid(g, options(root / "all"));
  RunnerOptions s1 = options(root / "s1"), s2 = options(root / "s2");
  s1.shard = 1;
  s1.shard_count = 2;
  s2.shard = 2;
  s2.shard_count = 2;
  const GridOutcome o1 = run_grid(g, s1);
  const GridOutcome o2 = run_grid(g, s2);
  CHECK(o1.runs.size() + o2.runs.size() == 6);
  CHECK(o1.runs.size() == 3);
  // Each shard trained the teachers its runs need, and lists the other shard's runs as missing.
  CHECK(o1.teachers_trained == 2);
  CHECK(read_json(root / "s1" / "results.json").at("missing").empty());  // a shard's table: its own runs
  CHECK(read_json(root / "s1" / "results.json").at("shard") == "1/2");

  MergeOptions m;
  m.dirs = {(root / "s1").string(), (root / "s2").string()};
  m.out_dir = (root / "merged").string();
  m.plot = false;
  const MergeOutcome mo = merge_shards(m);
  CHECK(mo.runs == 6);
  CHECK(mo.teacher_runs == 2);
  CHECK(mo.missing == 0);
  const json all = read_json(root / "all" / "results.json"), merged = read_json(root / "merged" / "results.json");
  CHECK(values_of(merged, "cells") == values_of(all, "cells"));
  CHECK(values_of(merged, "teachers") == values_of(all, "teachers"));
  REQUIRE(merged.at("claims").size() == all.at("claims").size());
  for (size_t i = 0; i < all["claims"].size(); ++i) {
    CHECK(merged["claims"][i]["verdict_text"] == all["claims"][i]["verdict_text"]);
    CHECK(merged["claims"][i].value("value", 0.0) == doctest::Approx(all["claims"][i].value("value", 0.0)));
  }
  // Runs in grid order, as the unsharded table has them.
  for (size_t i = 0; i < all["runs"].size(); ++i) {
    CHECK(merged["runs"][i]["cell"] == all["runs"][i]["cell"]);
    CHECK(merged["runs"][i]["seed"] == all["runs"][i]["seed"]);
  }
  CHECK(merged.at("missing").empty());
  CHECK(merged.at("merged_from").size() == 2);
  CHECK(merged["merged_from"][0]["dir"] == "s1");
  CHECK(fs::exists(root / "merged" / "table.md"));
  CHECK(fs::exists(root / "merged" / "plot.gp"));

  // One shard alone: the other's runs are missing and the claims that need them are inconclusive.
  m.dirs = {(root / "s1").string()};
  m.out_dir = (root / "half").string();
  CHECK(merge_shards(m).missing == 3);
  const std::string half = read_text(root / "half" / "table.md");
  CHECK(half.find("## Missing runs (3)") != std::string::npos);
  CHECK(half.find("inconclusive (fewer than 2 seeds:") != std::string::npos);  // one seed of each pair here

  // Refusals.
  m.dirs = {(root / "s1").string(), (root / "s1").string()};
  m.out_dir = (root / "dup").string();
  CHECK(merge_error(m).find("is in both") != std::string::npos);
  m.dirs = {(root / "s1").string(), (root / "s2").string()};
  m.out_dir = (root / "s2").string();
  CHECK(merge_error(m).find("is one of the shards") != std::string::npos);
  m.out_dir = (root / "x").string();
  m.dirs = {(root / "s1").string(), (root / "nosuch").string()};
  CHECK(merge_error(m).find("has no results.json") != std::string::npos);
  // Another grid; the same grid with another definition; another revision; another teacher.
  auto altered = [&](const std::string& name, const std::function<void(json&)>& edit) {
    fs::copy(root / "s2", root / name, fs::copy_options::recursive);
    json r = read_json(root / name / "results.json");
    edit(r);
    std::ofstream(root / name / "results.json") << r.dump();
    m.dirs = {(root / "s1").string(), (root / name).string()};
    return merge_error(m);
  };
  CHECK(altered("other", [](json& r) { r["grid_definition"]["name"] = "other"; })
            .find("holds grid tshard (test) and") != std::string::npos);
  CHECK(altered("redef", [](json& r) { r["grid_definition"]["seeds"] = {1, 2, 3}; })
            .find("different definitions of grid tshard") != std::string::npos);
  CHECK(altered("rev", [](json& r) { r["provenance"]["git_revision"] = "0000000"; })
            .find("at git revision") != std::string::npos);
  CHECK(altered("teacher", [](json& r) { r["teacher_models"][0]["weights_crc32"] = "00000000"; })
            .find("teacher:t seed 1 differs between") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("reproduce teachers: a teacher pass, then shards that read the teachers from it") {
  const fs::path root = scratch("pass");
  const Grid g = tiny_grid();
  RunnerOptions shard = options(root / "s1");
  shard.shard = 1;
  shard.shard_count = 2;
  shard.teachers_dir = (root / "pass").string();
  // No teacher pass yet: a clear error saying how to make one.
  CHECK_THROWS_WITH_AS(run_grid(g, shard), doctest::Contains("--teachers-only"), lowbit::Error);
  RunnerOptions pass = options(root / "pass");
  pass.teachers_only = true;
  const GridOutcome p = run_grid(g, pass);
  CHECK(p.teachers_trained == 2);
  CHECK(p.runs.empty());
  fs::remove_all(root / "s1");
  const GridOutcome s = run_grid(g, shard);
  CHECK(s.teachers_trained == 0);
  CHECK(s.teachers_reused == 2);
  CHECK(s.trained == 3);
  CHECK_FALSE(fs::exists(root / "s1" / "teachers"));
  const json r = read_json(root / "s1" / "runs" / "dorefa_seed1" / "results.json");
  CHECK(r.at("teacher").at("path") == "../pass/teachers/t_seed1/model.lbar");
  fs::remove_all(root);
}

TEST_CASE("reproduce CLI: --shard, --dry-run per shard, merge usage errors") {
  auto run = [](const std::string& args) { return lowbit::test::run_lowbit(args); };
  lowbit::test::CliRun r = run("reproduce baselines --dry-run --shard 2/3");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(r.out.find("shard 2/3: ") != std::string::npos);
  r = run("reproduce baselines --dry-run --shard 4/3");
  CHECK(r.status == 1);
  CHECK(r.all().find("--shard: shard '4/3'") != std::string::npos);
  r = run("reproduce baselines --teachers-only --dry-run");
  CHECK(r.status == 1);
  CHECK(r.all().find("declares no teachers") != std::string::npos);
  const fs::path d = scratch("cli");
  r = run("reproduce merge '" + (d / "a").string() + "' --out '" + (d / "m").string() + "'");
  CHECK(r.status == 1);
  CHECK(r.all().find("has no results.json") != std::string::npos);
  r = run("reproduce merge");
  CHECK(r.status != 0);
  CHECK(r.status != -1);
  fs::remove_all(d);
}

TEST_CASE("reproduce --cells: trains only the matching cells, keeps earlier finished runs, lists the rest missing") {
  const fs::path out = scratch("cells");
  const Grid g = tiny_grid();
  RunnerOptions o = options(out);
  o.cells = {"dor*"};
  const GridOutcome first = run_grid(g, o);
  CHECK(first.trained == 2);  // dorefa, seeds 1 and 2
  CHECK(first.teachers_trained == 2);
  CHECK_FALSE(fs::exists(out / "runs" / "kd_seed1"));
  json res = read_json(out / "results.json");
  CHECK(res.at("missing").size() == 4);  // kd and fp32 of both seeds: the table still expects them

  // A second part: the fp32 cell trains, the finished dorefa runs are reused, kd stays missing.
  o.cells = {"fp32"};
  const GridOutcome second = run_grid(g, o);
  CHECK(second.trained == 2);
  CHECK(second.reused == 2);
  res = read_json(out / "results.json");
  CHECK(res.at("missing").size() == 2);

  // The finished runs of every seed enter the table before anything trains, so a run stopped part-way leaves a
  // table with all of them: the log lists seed 2's finished runs before seed 1's kd run trains.
  o.cells = {"kd"};
  const fs::path log = out / "log.txt";
  o.log = std::fopen(log.string().c_str(), "w");
  REQUIRE(o.log != nullptr);
  const GridOutcome third = run_grid(g, o);
  std::fclose(o.log);
  o.log = nullptr;
  CHECK(third.trained == 2);
  CHECK(third.reused == 4);
  const std::string text = read_text(log);
  const size_t seed2_reused = text.find("fp32 seed 2: "), kd1_trained = text.find("kd seed 1: ");
  REQUIRE(seed2_reused != std::string::npos);
  REQUIRE(kd1_trained != std::string::npos);
  CHECK(seed2_reused < kd1_trained);
  CHECK(third.runs[1].cell == "T: KD W1A1");  // GridOutcome::runs stay in run order
  CHECK(read_json(out / "results.json").at("missing").empty());

  // A glob that matches no cell is an error, before anything trains.
  o.cells = {"resnet*"};
  CHECK_THROWS_WITH_AS(run_grid(g, o), doctest::Contains("--cells: 'resnet*' matches no cell"), lowbit::Error);
  fs::remove_all(out);
}

TEST_CASE("reproduce: a method without a teacher (CCQ) in a cell that starts from the teacher gets it as init only") {
  const fs::path out = scratch("ccq_cell");
  json j = tiny_grid_json();
  j["seeds"] = {1};
  j["base"]["val_holdout"] = 32;
  j["cells"] = json::parse(R"([
    {"id": "ccq", "label": "T: CCQ", "model": "lenet5", "dataset": "mnist", "method_label": "CCQ",
     "precision_label": "W8A4", "precision": {"scheme": "dorefa", "wbits": 8, "abits": 4, "first_last": "q"},
     "method": {"name": "ccq", "ladder": "8,4,2", "target": "avg_wbits", "target_value": 6, "warmup_steps": 1,
                "finetune_steps": 1, "val_images": 16, "epsilon": 1.0},
     "teacher": "t", "init_from": "teacher", "epochs": 1, "est_seconds": 1},
    {"id": "ccq_hi", "label": "T: CCQ 7", "model": "lenet5", "dataset": "mnist", "method_label": "CCQ",
     "precision_label": "W8A4", "precision": {"scheme": "dorefa", "wbits": 8, "abits": 4, "first_last": "q"},
     "method": {"name": "ccq", "ladder": "8,4,2", "target": "avg_wbits", "target_value": 7, "warmup_steps": 1,
                "finetune_steps": 1, "val_images": 16, "epsilon": 1.0},
     "teacher": "t", "init_from": "teacher", "epochs": 1, "est_seconds": 1},
    {"id": "ccq_eps", "label": "T: CCQ eps", "model": "lenet5", "dataset": "mnist", "method_label": "CCQ",
     "precision_label": "W8A4", "precision": {"scheme": "dorefa", "wbits": 8, "abits": 4, "first_last": "q"},
     "method": {"name": "ccq", "ladder": "8,4,2", "target": "avg_wbits", "target_value": 7, "warmup_steps": 1,
                "finetune_steps": 1, "val_images": 16, "epsilon": 0.9},
     "teacher": "t", "init_from": "teacher", "epochs": 1, "est_seconds": 1}])");
  j["claims"] = json::array();
  const Grid g = grid_from_json(j, "tccq.json", [](const std::string&) -> std::string { return ""; });
  const GridOutcome o = run_grid(g, options(out));
  CHECK(o.trained == 3);
  const json r = read_json(out / "runs" / "ccq_seed1" / "results.json");
  CHECK(r.at("method").at("name") == "ccq");
  CHECK_FALSE(r.at("method").contains("teacher"));                           // not distilled from
  CHECK(r.at("teacher").at("id") == "t");  // the cell's teacher, its starting point (the search's --init)
  CHECK(r.at("init").at("path").get<std::string>().find("searched.lbar") != std::string::npos);  // final fine-tune
  // The target-7 cell starts from the target-6 cell's rounds (same seed, teacher, recipe and other settings);
  // the cell with another epsilon searches on its own.
  CHECK_FALSE(r.at("metrics").contains("search_seeded_round"));
  const json hi = read_json(out / "runs" / "ccq_hi_seed1" / "results.json");
  REQUIRE(hi.at("metrics").contains("search_seeded_round"));
  CHECK(hi.at("metrics").at("search_seeded_round").get<int>() >= 1);
  CHECK(hi.at("metrics").at("search_warmup_steps").get<int>() >= 1);  // the rounds it took count in its cost
  CHECK_FALSE(read_json(out / "runs" / "ccq_eps_seed1" / "results.json").at("metrics").contains("search_seeded_round"));
  fs::remove_all(out);
}
