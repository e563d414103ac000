// An experiment grid as data: the cells of one table (model, data set, quantization, epochs, training subset,
// which cell's model initialises it), the seeds, the shared training recipe, the claims under test and the
// notes. `lowbit reproduce <table>` looks a grid up by name (grid_names / make_grid), and the runner
// (quant/reproduce/runner.h) trains every cell × seed. New tables add a make_<table>_grid function and one line
// in make_grid (grid.cpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nn/experiment/results.h"
#include "nn/train/config.h"
#include "quant/quantized_model.h"

namespace lowbit::quant::reproduce {

struct GridCell {
  std::string id;        // unique, file-name safe: the run directories are <out>/runs/<id>_seed<S>
  std::string label;     // the table row
  std::string model, dataset;
  std::string method;    // shown in the table and the plot legend: "fp32", "DoReFa", "BNN", ...
  std::string precision; // x category of the accuracy-vs-bits plot: "W1A1", "WtA2", "fp32", ...
  std::optional<QuantSpec> quant;  // the quantization (empty = fp32)
  int epochs = 1;
  int64_t train_subset = 0;  // > 0: the first N training images only
  std::string init_from;     // id of an earlier cell whose model of the same seed initialises this one; "" = none
  double est_seconds = 0.0;  // estimated wall time of one run on an idle 2-core machine (dry run and ETA)
};

struct Grid {
  std::string name;     // "baselines"
  std::string variant;  // "full" | "quick"
  std::string title;
  nn::TrainConfig base;  // the recipe every cell shares (optimizer, lr, schedule, batch, weight decay)
  std::vector<GridCell> cells;
  std::vector<uint64_t> seeds;
  std::vector<nn::Claim> claims;
  std::string notes;     // Markdown under the table (budget, measured times, what is reduced and why)
  std::vector<std::string> precision_order;  // the plot's x categories, left to right
};

// Every table `lowbit reproduce` knows.
std::vector<std::string> grid_names();
// The named grid (quick: the few-minute variant). Throws lowbit::Error naming the known tables.
Grid make_grid(const std::string& name, bool quick);

// Throws lowbit::Error naming the cell when ids repeat or are not file-name safe, epochs < 1, a cell's
// precision config does not validate, init_from names no earlier cell of the same model and data set, or
// there are no seeds / repeated seeds.
void validate_grid(const Grid& g);

// The TrainConfig of one run of a cell.
nn::TrainConfig run_config(const Grid& g, const GridCell& c, uint64_t seed);
// "<id>_seed<S>"
std::string run_name(const GridCell& c, uint64_t seed);
// Σ est_seconds over cells × seeds.
double estimated_seconds(const Grid& g);
// Parses "1,2,3" (whitespace allowed, no repeats); throws naming --seeds.
std::vector<uint64_t> parse_seeds(const std::string& text);

}  // namespace lowbit::quant::reproduce
