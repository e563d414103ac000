// Grids as data files (lab/grid.h): the embedded baselines grids hold exactly the cells, epochs, subsets, seeds,
// recipe and notes the C++ grid had before it became a file (tests/lab/expected/, dumped from that code), a
// grid survives grid_to_json → grid_from_json, a user's grid file loads with its notes file and method objects,
// and every malformed field is refused with the file and the field named.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "lab/embedded_grids.h"
#include "lab/grid.h"

using namespace lowbit::lab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  REQUIRE_MESSAGE(f.good(), p.string());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

json expected(const std::string& file) {
  return json::parse(read_text(fs::path(LOWBIT_SOURCE_DIR) / "tests" / "lab" / "expected" / file));
}

// The grid against the dump of the C++ code it replaced, field by field.
void check_same_as_before(const Grid& g, const json& want) {
  CHECK(g.name == want["name"]);
  CHECK(g.variant == want["variant"]);
  CHECK(g.title == want["title"]);
  CHECK(g.notes == want["notes"].get<std::string>());
  CHECK(json(g.seeds) == want["seeds"]);
  CHECK(json(g.precision_order) == want["precision_order"]);
  CHECK(g.claims.size() == want["claims"].size());
  json base = g.base.to_json();
  for (const char* k : {"model", "dataset", "epochs", "seed", "threads"}) base.erase(k);
  CHECK(base == want["base"]);
  REQUIRE(g.cells.size() == want["cells"].size());
  for (size_t i = 0; i < g.cells.size(); ++i) {
    const GridCell& c = g.cells[i];
    const json& w = want["cells"][i];
    CAPTURE(c.id);
    CHECK(c.id == w["id"]);
    CHECK(c.label == w["label"]);
    CHECK(c.model == w["model"]);
    CHECK(c.dataset == w["dataset"]);
    CHECK(c.method_label == w["method_label"]);
    CHECK(c.precision_label == w["precision_label"]);
    CHECK(c.epochs == w["epochs"]);
    CHECK(c.train_subset == w["train_subset"]);
    CHECK(c.init_from == w["init_from"]);
    CHECK(c.est_seconds == doctest::Approx(w["est_seconds"].get<double>()).epsilon(1e-9));
    CHECK(c.method.is_null());
    if (w["precision"] == "fp32") {
      CHECK_FALSE(c.quant.has_value());
    } else {
      REQUIRE(c.quant.has_value());
      CHECK(c.quant->path == lowbit::quant::QPath::kernel);
      // Typed comparison: the file's config is the config the old flags gave.
      const lowbit::quant::PrecisionConfig& have = c.quant->precision;
      const lowbit::quant::PrecisionConfig old =
          lowbit::quant::PrecisionConfig::from_json(w["precision"], "expected dump");
      CHECK(have == old);
      CHECK(have.defaults == old.defaults);
      CHECK(have.first_last == old.first_last);
      CHECK(have.overrides.empty());
      CHECK(lowbit::quant::scheme_name(have.defaults.scheme) == w["precision"]["scheme"].get<std::string>());
      CHECK(have.defaults.wbits == w["precision"]["wbits"]);
      CHECK(have.defaults.abits == w["precision"]["abits"]);
      CHECK(lowbit::quant::edge_policy_name(have.first_last) == w["precision"]["first_last"].get<std::string>());
    }
  }
}

// A small valid grid to break field by field.
json tiny() {
  return json::parse(R"({
    "name": "tiny", "title": "Tiny", "base": {"lr": 0.1, "batch_size": 32}, "seeds": [1, 2],
    "precision_order": ["W1A1", "fp32"],
    "teachers": [{"id": "t", "model": "lenet5", "dataset": "mnist", "epochs": 1}],
    "cells": [
      {"id": "a_fp32", "label": "A: fp32", "model": "lenet5", "dataset": "mnist", "method_label": "fp32",
       "precision_label": "fp32", "precision": "fp32", "epochs": 2, "est_seconds": 1.5},
      {"id": "a_kd", "label": "A: KD W1A1", "model": "lenet5", "dataset": "mnist", "method_label": "KD",
       "precision_label": "W1A1", "precision": {"scheme": "dorefa", "wbits": 1, "abits": 1},
       "method": {"name": "kd", "temperature": 4, "alpha": 0.9}, "teacher": "t", "epochs": 1, "train_subset": 100,
       "init_from": "a_fp32"}
    ],
    "claims": [{"id": "kd50", "text": "KD reaches 50 %", "rule": "threshold", "cell": "a_kd", "threshold": 50,
                "source": "test"}],
    "notes": "## Notes\n"
  })");
}

Grid parse(const json& j) {
  return grid_from_json(j, "grids/tiny.json", [](const std::string& f) -> std::string {
    LOWBIT_CHECK(false, "no file '{}'", f);
    return "";
  });
}

// The error of loading `j` (doctest's CHECK_THROWS_WITH wants the whole message; we check parts).
std::string error_of(const json& j) {
  try {
    parse(j);
  } catch (const lowbit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("grid files: the embedded baselines grids equal the C++ grids they replaced") {
  check_same_as_before(load_named_grid("baselines", false), expected("baselines.json"));
  check_same_as_before(load_named_grid("baselines", true), expected("baselines-quick.json"));
  CHECK(load_named_grid("baselines", false).source == "lab/grids/baselines.json");
  // The repository's files are what is embedded (the build regenerates the source when they change).
  for (const char* f : {"baselines.json", "baselines-quick.json", "baselines.md", "baselines-quick.md"}) {
    CAPTURE(f);
    const EmbeddedFile* e = find_embedded_grid_file(f);
    REQUIRE(e != nullptr);
    CHECK(std::string(e->data, e->size) == read_text(fs::path(LOWBIT_SOURCE_DIR) / "lab" / "grids" / f));
  }
  CHECK(find_embedded_grid_file("README.md") == nullptr);
}

TEST_CASE("grid files: names, unknown tables, a user's file with its notes file, the JSON round trip") {
  const std::vector<std::string> names = grid_names();
  CHECK(std::find(names.begin(), names.end(), "baselines") != names.end());
  CHECK(std::find(names.begin(), names.end(), "baselines-quick") == names.end());
  CHECK_THROWS_WITH_AS(load_named_grid("nosuch", false), doctest::Contains("unknown table 'nosuch' (known tables: "),
                       lowbit::Error);

  const fs::path dir = fs::temp_directory_path() / ("lowbit_test_grid_file_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  json j = tiny();
  j.erase("notes");
  j["notes_file"] = "tiny.md";
  std::ofstream(dir / "tiny.json") << j.dump(2);
  std::ofstream(dir / "tiny.md") << "## Tiny notes\n\n- one\n";
  const Grid g = load_grid_file((dir / "tiny.json").string());
  CHECK(g.source == (dir / "tiny.json").string());
  CHECK(g.variant == "full");
  CHECK(g.notes == "## Tiny notes\n\n- one\n");
  CHECK(g.base.lr == doctest::Approx(0.1));
  CHECK(g.base.batch_size == 32);
  CHECK(g.base.optimizer == "sgd");  // not given: the TrainConfig default
  REQUIRE(g.cells.size() == 2);
  CHECK(g.cells[0].est_seconds == 1.5);
  CHECK(g.cells[1].train_subset == 100);
  CHECK(g.cells[1].method == json({{"name", "kd"}, {"temperature", 4}, {"alpha", 0.9}}));  // kept as written
  REQUIRE(g.cells[1].quant.has_value());
  CHECK(g.cells[1].quant->precision.defaults.wbits == 1);
  CHECK_FALSE(g.cells[0].quant.has_value());
  REQUIRE(g.claims.size() == 1);
  CHECK(g.claims[0].cell == "A: KD W1A1");  // the file names the cell id; the table matches labels
  CHECK(g.claims[0].threshold == 50);

  // The file's notes missing: the error names the grid file and the field.
  fs::remove(dir / "tiny.md");
  const std::string notes_error = (dir / "tiny.json").string() + ": notes_file";
  CHECK_THROWS_WITH_AS(load_grid_file((dir / "tiny.json").string()), doctest::Contains(notes_error.c_str()),
                       lowbit::Error);
  std::ofstream(dir / "bad.json") << "{\"name\": ";
  CHECK_THROWS_WITH_AS(load_grid_file((dir / "bad.json").string()), doctest::Contains("bad.json: not valid JSON"),
                       lowbit::Error);
  CHECK_THROWS_WITH_AS(load_grid_file((dir / "none.json").string()), doctest::Contains("none.json"), lowbit::Error);
  fs::remove_all(dir);

  // grid_to_json is the file schema: reading it back gives the same grid.
  for (const Grid& x : {g, load_named_grid("baselines", false), load_named_grid("baselines", true)}) {
    const Grid y = grid_from_json(grid_to_json(x), x.source, nullptr);
    CHECK(grid_to_json(y) == grid_to_json(x));
    CHECK(y.claims.size() == x.claims.size());
  }
}

TEST_CASE("grid files: a malformed field is refused naming the file and the field") {
  struct Bad {
    std::function<void(json&)> edit;
    const char* message;
  };
  const Bad bad[] = {
      {[](json& j) { j["cells"][1]["epochs"] = 0; }, "grids/tiny.json: cells[1].epochs must be ≥ 1 (got 0)"},
      {[](json& j) { j["cells"][0]["epochs"] = "3"; }, "grids/tiny.json: cells[0].epochs must be an integer"},
      {[](json& j) { j["cells"][0].erase("model"); }, "grids/tiny.json: cells[0].model is missing"},
      {[](json& j) { j["cells"][0]["epoch"] = 3; }, "grids/tiny.json: cells[0].epoch is not a known field"},
      {[](json& j) { j["cells"][1]["train_subset"] = -1; }, "cells[1].train_subset must be ≥ 0 (got -1)"},
      {[](json& j) { j["cells"][1]["id"] = "has space"; }, "cells[1].id 'has space' must use only letters"},
      {[](json& j) { j["cells"][1]["id"] = "a_fp32"; }, "cells[1].id 'a_fp32' is used twice"},
      {[](json& j) { j["cells"][1]["label"] = "A: fp32"; }, "cells[1].label 'A: fp32' is used twice"},
      {[](json& j) { j["cells"][0]["init_from"] = "a_kd"; }, "cells[0].init_from 'a_kd' (cell 'a_fp32') is not an earlier cell"},
      {[](json& j) { j["cells"][1]["dataset"] = "fashion-mnist"; j["cells"][1].erase("method"); j["cells"][1].erase("teacher"); }, "cells[1].init_from 'a_fp32' (lenet5 on mnist) is another"},
      {[](json& j) { j["cells"][0]["dataset"] = "nosuch"; }, "cells[0].dataset"},
      {[](json& j) { j["cells"][1]["precision"]["wbits"] = 3; j["cells"][1]["precision"]["scheme"] = "bnn"; },
       "grids/tiny.json: cells[1].precision is not a valid precision config"},
      {[](json& j) { j["cells"][1]["precision"]["wbit"] = 3; }, "cells[1].precision is not a valid precision config"},
      {[](json& j) { j["cells"][1]["precision"] = "int8"; }, "cells[1].precision must be \"fp32\" or a precision-config object"},
      {[](json& j) { j["cells"][1]["method"] = "kd"; }, "cells[1].method must be an object"},
      {[](json& j) { j["cells"][1]["method"] = json::object(); }, "cells[1].method.name is missing"},
      {[](json& j) { j["cells"][0]["est_seconds"] = -1; }, "cells[0].est_seconds must be ≥ 0"},
      {[](json& j) { j["cells"] = json::array(); }, "grids/tiny.json: cells must be a non-empty array"},
      {[](json& j) { j["seeds"] = json::array(); }, "grids/tiny.json: seeds must be a non-empty array"},
      {[](json& j) { j["seeds"] = {1, -2}; }, "grids/tiny.json: seeds[1] must be a non-negative integer"},
      {[](json& j) { j["seeds"] = {1, 2, 1}; }, "grids/tiny.json: seeds[2] repeats seed 1"},
      {[](json& j) { j["base"]["lr"] = -0.1; }, "grids/tiny.json: base is not a valid training recipe"},
      {[](json& j) { j["base"]["epochs"] = 5; }, "grids/tiny.json: base.epochs is set per cell or per run"},
      {[](json& j) { j["base"]["learning_rate"] = 5; }, "grids/tiny.json: base.learning_rate is not a training-config field"},
      {[](json& j) { j["base"]["batch_size"] = 1.5; }, "grids/tiny.json: base.batch_size has the wrong type"},
      {[](json& j) { j["base"]["optimizer"] = 1; }, "grids/tiny.json: base.optimizer has the wrong type"},
      {[](json& j) { j.erase("title"); }, "grids/tiny.json: title is missing"},
      {[](json& j) { j["name"] = "a/b"; }, "grids/tiny.json: name 'a/b' must use only letters"},
      {[](json& j) { j["colour"] = "red"; }, "grids/tiny.json: colour is not a known field"},
      {[](json& j) { j["claims"][0]["cell"] = "nosuch"; }, "claims[0].cell 'nosuch' is not a cell id"},
      {[](json& j) { j["notes_file"] = "x.md"; }, "notes_file and notes cannot both be given"},
      {[](json& j) { j.erase("notes"); j["notes_file"] = "../x.md"; }, "notes_file '../x.md' must be a file name"},
      {[](json& j) { j["precision_order"] = {"W1A1", 2}; }, "precision_order[1] must be a string"},
      {[](json& j) { j["precision_order"] = {"W1A1", "W1A1"}; }, "precision_order[1] repeats 'W1A1'"},
      {[](json& j) { j = json::array(); }, "grids/tiny.json: grid must be an object"},
  };
  CHECK_NOTHROW(parse(tiny()));
  for (const Bad& b : bad) {
    json j = tiny();
    b.edit(j);
    const std::string err = error_of(j);
    CAPTURE(err);
    CHECK_MESSAGE(err.find(b.message) != std::string::npos, b.message);
  }
}

TEST_CASE("grid files: validate_grid after a change, run configs") {
  Grid g = parse(tiny());
  const lowbit::nn::TrainConfig cfg = run_config(g, g.cells[1], 7);
  CHECK(cfg.epochs == 1);
  CHECK(cfg.seed == 7);
  CHECK(cfg.model == "lenet5");
  CHECK(cfg.dataset == "mnist");
  CHECK(cfg.lr == doctest::Approx(0.1));
  CHECK(run_name(g.cells[1], 7) == "a_kd_seed7");
  CHECK(estimated_seconds(g) == doctest::Approx(3.0));
  g.seeds = {4, 4};
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains("grids/tiny.json: seeds[1] repeats seed 4"), lowbit::Error);

}
