// Runs an experiment grid (quant/reproduce/grid.h) in this process and writes its table.
//
// Order: seed by seed (so an interrupted grid has every cell with as many seeds as possible), and within a seed
// the cells in grid order — each cell's init_from cell comes earlier, so the fp32 model of a (model, data set,
// seed) is trained before the quantized cells that start from it.
//
// Output directory:
//   grid.json                 which grid and variant the directory holds (another grid is refused)
//   runs/<cell>_seed<S>/      one lowbit training run each (quant::run_training: checkpoints, model.lbar,
//                             metrics.csv, results.json with "test", "wall_seconds" and "grid")
//   results.json, table.md, table.csv   (nn/experiment/results.h) rewritten after every run, so a partial grid
//                             always has an up-to-date table
//   accuracy_vs_bits.{svg,png,dat,gp}   one panel per model / data set, one series per method, error bar = std
// Resume: a run whose results.json records a test accuracy for the cell's configuration is reused; a run with
// a checkpoint but no result continues from the checkpoint (the Trainer's bit-exact resume); a run directory
// holding a different configuration is an error naming it. So re-running the same command after an
// interruption finishes the grid.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nn/data/dataset.h"
#include "nn/experiment/plot.h"
#include "nn/experiment/results.h"
#include "quant/reproduce/grid.h"

namespace lowbit::quant::reproduce {

struct RunnerOptions {
  std::string out_dir;
  std::string data_dir;      // "" = nn::default_data_dir()
  int threads = 0;           // > 0: set the engine's thread count
  std::string command_line;  // recorded in the provenance
  // (train, test) split of a data set; null = nn::load_dataset from data_dir (tests pass in-memory data).
  std::function<std::pair<nn::ImageDataset, nn::ImageDataset>(const std::string& dataset)> load_data;
  std::FILE* log = stderr;   // one line per run; nullptr = silent
  bool plot = true;          // run gnuplot (the .dat/.gp files are written either way)
};

struct GridOutcome {
  std::vector<nn::RunResult> runs;  // in run order
  int trained = 0, reused = 0;
  double wall_seconds = 0.0;        // of this invocation
  bool plotted = false;
  std::string plot_error;           // why the figure was not rendered (gnuplot missing or failing)
};

GridOutcome run_grid(const Grid& g, const RunnerOptions& o);

// What --dry-run prints: every cell (model, data set, quantization, epochs, training images, init, estimated
// time per run) and the estimated total.
std::string describe_grid(const Grid& g);

// The table and the figure of a set of finished runs (exposed for tests and for re-rendering).
nn::ResultsTable make_table(const Grid& g, const std::vector<nn::RunResult>& runs, const nlohmann::json& provenance);
nn::PlotFigure make_figure(const Grid& g, const std::vector<nn::RunResult>& runs);

}  // namespace lowbit::quant::reproduce
