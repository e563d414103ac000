// An experiment grid: the cells of one table (model, data set, precision, method, epochs, training subset,
// which model initialises it, which fp32 teacher it uses), the per-seed teachers, the seeds, the shared training
// recipe, the claims under test (lab/verdict.h), the figures and the notes. Grids are data files,
// lab/grids/<name>.json (and <name>-quick.json for the few-minute variant), embedded into the library at build
// time so an installed `lowbit` finds them anywhere; a user's own grid file loads the same way (load_grid_file).
// The schema is described in lab/grids/README.md.
//
// Every field is checked when the file is read; an error names the file and the field:
//   lab/grids/baselines.json: cells[3].epochs must be ≥ 1 (got 0)
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/results.h"
#include "nn/train/config.h"
#include "quant/quantized_model.h"

namespace lowbit::lab {

// An fp32 model trained once per seed and shared by every cell of that seed that names it (a distillation
// teacher, the starting point of QAT "from the teacher"): <out>/teachers/<id>_seed<S>/model.lbar.
struct GridTeacher {
  std::string id;               // unique, file-name safe
  std::string model, dataset;
  int epochs = 1;
  int64_t train_subset = 0;     // > 0: the first N training images only
  nlohmann::json recipe = nlohmann::json::object();  // fields of the grid's base recipe overridden for it
  double est_seconds = 0.0;     // one teacher run on an idle 2-core machine
};

// What init_from holds for "start from the cell's teacher".
inline constexpr const char* kInitFromTeacher = "teacher";

struct GridCell {
  std::string id;               // unique, file-name safe: the run directories are <out>/runs/<id>_seed<S>
  std::string label;            // the table row
  std::string model, dataset;
  std::string method_label;     // table column and plot legend: "fp32", "DoReFa", "BNN", ...
  std::string precision_label;  // x category of the accuracy-vs-bits plot: "W1A1", "WtA2", "fp32", ...
  // The quantization: the file's "precision" object, a precision config (quant/precision.h, the schema of a
  // precision-config file), on the kernel path; empty = "fp32" (the plain zoo model, no quantization).
  std::optional<quant::QuantSpec> quant;
  // An optional training method, {"name": "kd", ...}: kept as written and handed to lab::run_training (the
  // runner adds "teacher": the path of the cell's teacher of the run's seed).
  nlohmann::json method;
  std::string teacher;          // a GridTeacher id, or "" (required when the method needs one or init_from is "teacher")
  int epochs = 1;
  int64_t train_subset = 0;     // > 0: the first N training images only
  // "" = random init; "teacher" = the cell's teacher of the same seed; else the id of an earlier cell whose model of
  // the same seed initialises this one.
  std::string init_from;
  double est_seconds = 0.0;     // estimated wall time of one run on an idle 2-core machine (dry run and ETA)
};

struct Grid {
  std::string source;    // the file it came from, e.g. "lab/grids/baselines.json" (errors name it)
  std::string name;      // "baselines"
  std::string variant;   // "full" | "quick" | ...
  std::string title;
  nn::TrainConfig base;  // the recipe every cell shares (optimizer, lr, schedule, batch, weight decay, ...)
  std::vector<GridTeacher> teachers;
  std::vector<GridCell> cells;
  std::vector<uint64_t> seeds;
  // Cells are named by their labels (the table rows), teachers as "teacher:<id>" (lab/results.h).
  std::vector<Claim> claims;
  std::vector<std::string> figures = {"accuracy_vs_bits"};  // lab/grid_report.h kinds; the first is plot.*
  std::vector<std::string> metric_columns;  // per-run metric keys shown as table columns
  std::string notes;          // Markdown under the table (budget, measured times, what is reduced and why)
  std::vector<std::string> precision_order;  // the plot's x categories, left to right
};

// Reads a grid from its JSON. `source` names the file in errors; `read_sibling(name)` returns the text of a file
// next to it (the notes' "notes_file"), throwing when there is none.
Grid grid_from_json(const nlohmann::json& j, const std::string& source,
                    const std::function<std::string(const std::string&)>& read_sibling);
// A user's grid file (its notes_file is read from the same directory).
Grid load_grid_file(const std::string& path);
// The built-in grids (lab/grids/, embedded): names without variants, e.g. {"baselines"}.
std::vector<std::string> grid_names();
// The named built-in grid; quick: its "<name>-quick" file. Throws lowbit::Error naming the known tables.
Grid load_named_grid(const std::string& name, bool quick);
// The grid as JSON in the file schema, notes inline (grid_from_json of it gives the same grid).
nlohmann::json grid_to_json(const Grid& g);

// Checks the grid as a whole (ids unique and file-name safe, labels unique, epochs ≥ 1, init_from names an
// earlier cell of the same model and data set, seeds present and distinct, every precision valid, every
// claim names a cell); errors name the grid's file and the field. grid_from_json calls it; call it again after
// changing a grid (e.g. other seeds).
void validate_grid(const Grid& g);

// The TrainConfig of one run of a cell.
nn::TrainConfig run_config(const Grid& g, const GridCell& c, uint64_t seed);
// The TrainConfig of a teacher's run: the base recipe with the teacher's overrides.
nn::TrainConfig teacher_config(const Grid& g, const GridTeacher& t, uint64_t seed);
// "<id>_seed<S>"
std::string run_name(const GridCell& c, uint64_t seed);
std::string run_name(const GridTeacher& t, uint64_t seed);
// The cell's teacher, nullptr when it names none.
const GridTeacher* find_teacher(const Grid& g, const std::string& id);
// The figure kinds a grid may list: accuracy_vs_bits, accuracy_vs_size, accuracy_vs_bitops, layer_bits.
const std::vector<std::string>& figure_kinds();
// Σ est_seconds over cells × seeds, plus every teacher once per seed.
double estimated_seconds(const Grid& g);
// Parses "1,2,3" (whitespace allowed, no repeats); throws saying what is wrong (the caller names the source).
std::vector<uint64_t> parse_seeds(const std::string& text);

}  // namespace lowbit::lab
