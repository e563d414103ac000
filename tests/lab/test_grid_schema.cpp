// The grid schema's teachers, claims, figures and metric columns (lab/grids/README.md): a grid that uses them
// loads and round-trips through grid_to_json, and every malformed field is refused naming the file and the field.
// Every embedded table loads in both variants. Shards: plan_runs partitions the runs (union = the grid, disjoint,
// stable), keeps init_from chains in one shard, and --shard text is parsed strictly.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "lab/grid.h"
#include "lab/runner.h"

using namespace lowbit::lab;
using nlohmann::json;

namespace {

// A grid with a teacher, cells distilling from it and starting from it, and one claim of each rule.
json teacher_grid() {
  return json::parse(R"({
    "name": "tgrid", "title": "Teacher grid", "base": {"lr": 0.05, "batch_size": 32}, "seeds": [1, 2, 3],
    "precision_order": ["W1A1", "fp32"],
    "figures": ["accuracy_vs_size", "accuracy_vs_bitops", "layer_bits"],
    "metric_columns": ["size_bytes", "avg_wbits", "bitops"],
    "teachers": [{"id": "t_mnist", "model": "lenet5", "dataset": "mnist", "epochs": 2, "train_subset": 64,
                  "recipe": {"lr": 0.1}, "est_seconds": 2}],
    "cells": [
      {"id": "dorefa", "label": "A: DoReFa W1A1", "model": "lenet5", "dataset": "mnist", "method_label": "DoReFa",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1}, "teacher": "t_mnist",
       "init_from": "teacher", "epochs": 1},
      {"id": "kd", "label": "A: KD W1A1", "model": "lenet5", "dataset": "mnist", "method_label": "KD",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1},
       "method": {"name": "kd", "temperature": 4}, "teacher": "t_mnist", "init_from": "teacher", "epochs": 1},
      {"id": "kd_scratch", "label": "A: KD W1A1 from scratch", "model": "lenet5", "dataset": "mnist",
       "method_label": "KD scratch", "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1},
       "method": {"name": "kd"}, "teacher": "t_mnist", "epochs": 1},
      {"id": "u2", "label": "A: uniform W2", "model": "lenet5", "dataset": "mnist", "method_label": "uniform",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 2, "abits": 2}, "epochs": 1}
    ],
    "claims": [
      {"id": "kd_better", "text": "+1 % over DoReFa", "source": "paper", "rule": "better", "margin": 1.0,
       "pairs": [{"method": "kd", "baseline": "dorefa"}]},
      {"id": "near", "text": "beats uniform at the same size", "rule": "better",
       "pairs": [{"method": "kd", "nearest": ["u2", "dorefa"], "by": "size_bytes"}]},
      {"id": "fp32", "text": "without significant loss", "rule": "not_worse", "tolerance": 1.0,
       "pairs": [{"method": "kd", "baseline": "teacher:t_mnist"}]},
      {"id": "thr", "text": "reaches 50 %", "rule": "threshold", "cell": "teacher:t_mnist", "threshold": 50}
    ],
    "notes": ""
  })");
}

Grid parse(const json& j) {
  return grid_from_json(j, "grids/tgrid.json", [](const std::string& f) -> std::string {
    LOWBIT_CHECK(false, "no file '{}'", f);
    return "";
  });
}

std::string error_of(const json& j) {
  try {
    parse(j);
  } catch (const lowbit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("grid schema: teachers, teacher cells, claims, figures and metric columns load and round-trip") {
  const Grid g = parse(teacher_grid());
  REQUIRE(g.teachers.size() == 1);
  const GridTeacher& t = g.teachers[0];
  CHECK(t.id == "t_mnist");
  CHECK(t.epochs == 2);
  CHECK(t.train_subset == 64);
  // The teacher's recipe overrides the base for the teacher only.
  CHECK(teacher_config(g, t, 2).lr == doctest::Approx(0.1));
  CHECK(teacher_config(g, t, 2).seed == 2);
  CHECK(teacher_config(g, t, 2).epochs == 2);
  CHECK(run_config(g, g.cells[0], 2).lr == doctest::Approx(0.05));
  CHECK(run_name(t, 3) == "t_mnist_seed3");
  CHECK(g.cells[0].init_from == "teacher");
  CHECK(g.cells[1].teacher == "t_mnist");
  CHECK(g.cells[1].method == json({{"name", "kd"}, {"temperature", 4}}));
  CHECK(g.figures == std::vector<std::string>{"accuracy_vs_size", "accuracy_vs_bitops", "layer_bits"});
  CHECK(g.metric_columns == std::vector<std::string>{"size_bytes", "avg_wbits", "bitops"});
  // Teachers count once per seed in the estimate.
  CHECK(estimated_seconds(g) == doctest::Approx(3 * 2.0));
  REQUIRE(g.claims.size() == 4);
  CHECK(g.claims[0].rule == ClaimRule::better);
  CHECK(g.claims[0].margin == 1.0);
  CHECK(g.claims[0].pairs[0].method == "A: KD W1A1");  // ids in the file, labels in the grid
  CHECK(g.claims[0].pairs[0].baseline == "A: DoReFa W1A1");
  CHECK(g.claims[1].pairs[0].nearest == std::vector<std::string>{"A: uniform W2", "A: DoReFa W1A1"});
  CHECK(g.claims[1].pairs[0].by == "size_bytes");
  CHECK(g.claims[2].rule == ClaimRule::not_worse);
  CHECK(g.claims[2].pairs[0].baseline == "teacher:t_mnist");
  CHECK(g.claims[3].cell == "teacher:t_mnist");
  const Grid back = parse(grid_to_json(g));
  CHECK(grid_to_json(back) == grid_to_json(g));
  // The baselines default to the accuracy-vs-bits figure.
  CHECK(load_named_grid("baselines", false).figures == std::vector<std::string>{"accuracy_vs_bits"});
}

TEST_CASE("grid schema: malformed teachers, teacher cells and claims are refused naming the file and the field") {
  struct Bad {
    std::function<void(json&)> edit;
    const char* message;
  };
  const Bad bad[] = {
      {[](json& j) { j["teachers"][0]["epochs"] = 0; }, "grids/tgrid.json: teachers[0].epochs must be ≥ 1 (got 0)"},
      {[](json& j) { j["teachers"][0]["id"] = "a b"; }, "grids/tgrid.json: teachers[0].id 'a b' must use only letters"},
      {[](json& j) { j["teachers"][0]["colour"] = 1; }, "grids/tgrid.json: teachers[0].colour is not a known field"},
      {[](json& j) { j["teachers"][0]["recipe"]["lr"] = "x"; }, "grids/tgrid.json: teachers[0].recipe.lr has the wrong type"},
      {[](json& j) { j["teachers"][0]["recipe"]["epochs"] = 3; }, "teachers[0].recipe.epochs is set per cell or per run"},
      {[](json& j) { j["teachers"][0]["dataset"] = "nosuch"; }, "grids/tgrid.json: teachers[0].dataset"},
      {[](json& j) { j["teachers"].push_back(j["teachers"][0]); }, "teachers[1].id 't_mnist' is used twice"},
      {[](json& j) { j["cells"][1]["teacher"] = "nosuch"; }, "grids/tgrid.json: cells[1].teacher 'nosuch' is not a teachers[].id"},
      {[](json& j) { j["cells"][1].erase("teacher"); }, "cells[1].teacher is missing: cell 'kd' starts from its teacher"},
      {[](json& j) { j["cells"][2].erase("teacher"); }, "cells[2].teacher is missing: cell 'kd_scratch' uses method 'kd', which needs a teacher"},
      {[](json& j) { j["cells"][0].erase("teacher"); }, "cells[0].teacher is missing: cell 'dorefa' starts from its teacher"},
      {[](json& j) { j["cells"][3]["teacher"] = "t_mnist"; }, "cells[3].teacher 't_mnist' is named, but cell 'u2' neither"},
      {[](json& j) { j["cells"][1]["method"]["teacher"] = "x.lbar"; }, "cells[1].method.teacher is set by the runner"},
      {[](json& j) { j["cells"][1]["method"]["temperature"] = -1; }, "grids/tgrid.json: cells[1].method"},
      {[](json& j) { j["cells"][1]["method"]["name"] = "nosuch"; }, "grids/tgrid.json: cells[1].method"},
      {[](json& j) { j["cells"][1]["dataset"] = "fashion-mnist"; }, "cells[1].teacher 't_mnist' is trained on mnist, cell 'kd' on fashion-mnist"},
      {[](json& j) { j["cells"][0]["model"] = "resnet20"; }, "cells[0].init_from \"teacher\": teacher 't_mnist' is a lenet5, cell 'dorefa' a resnet20"},
      {[](json& j) { j["claims"][0]["rule"] = "bigger"; }, "grids/tgrid.json: claims[0].rule 'bigger' is not a rule"},
      {[](json& j) { j["claims"][0].erase("text"); }, "grids/tgrid.json: claims[0].text is missing"},
      {[](json& j) { j["claims"][0]["margin"] = -1; }, "claims[0].margin must be ≥ 0"},
      {[](json& j) { j["claims"][0]["tolerance"] = 1; }, "claims[0].tolerance is not a known field"},
      {[](json& j) { j["claims"][0]["pairs"] = json::array(); }, "claims[0].pairs must be a non-empty array"},
      {[](json& j) { j["claims"][0]["pairs"][0]["method"] = "nosuch"; }, "claims[0].pairs[0].method 'nosuch' is not a cell id"},
      {[](json& j) { j["claims"][0]["pairs"][0]["method"] = "teacher:t_mnist"; }, "claims[0].pairs[0].method 'teacher:t_mnist' is not a cell id"},
      {[](json& j) { j["claims"][0]["pairs"][0]["baseline"] = "teacher:nosuch"; }, "claims[0].pairs[0].baseline 'teacher:nosuch' names no teacher"},
      {[](json& j) { j["claims"][0]["pairs"][0]["baseline"] = "kd"; }, "claims[0].pairs[0].baseline is the method's own cell"},
      {[](json& j) { j["claims"][0]["pairs"][0]["nearest"] = {"u2"}; }, "claims[0].pairs[0] needs either \"baseline\""},
      {[](json& j) { j["claims"][1]["pairs"][0].erase("by"); }, "claims[1].pairs[0].by is missing"},
      {[](json& j) { j["claims"][1]["pairs"][0]["nearest"] = json::array(); }, "claims[1].pairs[0].nearest must list at least one"},
      {[](json& j) { j["claims"][3]["cell"] = "nosuch"; }, "claims[3].cell 'nosuch' is not a cell id"},
      {[](json& j) { j["claims"][3]["id"] = "fp32"; }, "claims[3].id 'fp32' is used twice"},
      {[](json& j) { j["figures"] = {"pie"}; }, "grids/tgrid.json: figures[0] 'pie' is not a figure kind"},
      {[](json& j) { j["metric_columns"] = {1}; }, "grids/tgrid.json: metric_columns[0] must be a string"},
  };
  CHECK_NOTHROW(parse(teacher_grid()));
  for (const Bad& b : bad) {
    json j = teacher_grid();
    b.edit(j);
    const std::string err = error_of(j);
    CAPTURE(err);
    CHECK_MESSAGE(err.find(b.message) != std::string::npos, b.message);
  }
}

TEST_CASE("grid schema: every embedded table loads, full and quick") {
  const std::vector<std::string> names = grid_names();
  CHECK_FALSE(names.empty());
  for (const std::string& n : names) {
    CAPTURE(n);
    const Grid full = load_named_grid(n, false);
    CHECK(full.name == n);
    CHECK(full.variant == "full");
    const Grid quick = load_named_grid(n, true);
    CHECK(quick.name == n);
    CHECK(quick.variant == "quick");
    CHECK(estimated_seconds(quick) < estimated_seconds(full));
  }
}

TEST_CASE("shards: the runs are split into disjoint parts whose union is the grid, init_from chains together") {
  const Grid g = load_named_grid("baselines", false);
  const std::vector<PlannedRun> all = plan_runs(g);
  CHECK(all.size() == g.cells.size() * g.seeds.size());
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i].order == i);
  for (int n : {1, 2, 3, 4, 7, 200}) {
    CAPTURE(n);
    std::set<size_t> seen;
    size_t total = 0;
    for (int i = 1; i <= n; ++i) {
      const std::vector<PlannedRun> part = plan_runs(g, i, n);
      for (const PlannedRun& r : part) {
        CHECK(r.shard == i);
        CHECK(seen.insert(r.order).second);  // disjoint
      }
      // Stable: the same call gives the same part, in run order.
      const std::vector<PlannedRun> again = plan_runs(g, i, n);
      REQUIRE(again.size() == part.size());
      for (size_t k = 0; k < part.size(); ++k) CHECK(again[k].order == part[k].order);
      CHECK(std::is_sorted(part.begin(), part.end(), [](const PlannedRun& a, const PlannedRun& b) { return a.order < b.order; }));
      total += part.size();
    }
    CHECK(total == all.size());  // the union is the grid
    CHECK(seen.size() == all.size());
    // Every run that starts from an earlier cell is in the shard of that cell's run of the same seed.
    for (int i = 1; i <= n; ++i)
      for (const PlannedRun& r : plan_runs(g, i, n)) {
        const GridCell& c = g.cells[r.cell];
        if (c.init_from.empty()) continue;
        const auto from = std::find_if(all.begin(), all.end(), [&](const PlannedRun& x) {
          return x.seed == r.seed && g.cells[x.cell].id == c.init_from;
        });
        REQUIRE(from != all.end());
        CHECK(plan_runs(g, i, n).end() != std::find_if(plan_runs(g, i, n).begin(), plan_runs(g, i, n).end(),
                                                       [&](const PlannedRun& x) { return x.order == from->order; }));
      }
  }
  // A grid without init_from chains is dealt round-robin: the parts differ by at most one run.
  const Grid t = parse(teacher_grid());
  for (int i = 1; i <= 5; ++i) CHECK(plan_runs(t, i, 5).size() >= 2);
  CHECK(plan_runs(t, 1, 5)[0].order == 0);
  CHECK(plan_runs(t, 1, 5)[1].order == 5);
}

TEST_CASE("shards: --shard I/N text") {
  CHECK(parse_shard("1/4") == std::make_pair(1, 4));
  CHECK(parse_shard("4/4") == std::make_pair(4, 4));
  for (const char* bad : {"0/4", "5/4", "1/0", "1", "a/b", "-1/4", "1/4/2", "", "/"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_shard(bad), lowbit::Error);
  }
  CHECK_THROWS_WITH_AS(parse_shard("5/4"), doctest::Contains("between 1 and N"), lowbit::Error);
  const Grid g = load_named_grid("baselines", true);
  CHECK_THROWS_AS(plan_runs(g, 3, 2), lowbit::Error);
}
