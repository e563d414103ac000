// Runs an experiment grid (lab/grid.h) in this process and writes its table.
//
// Order: seed by seed (so an interrupted grid has every cell with as many seeds as possible), and within a seed
// the cells in grid order — each cell's init_from cell comes earlier, so the fp32 model of a (model, data set,
// seed) is trained before the quantized cells that start from it.
//
// Output directory:
//   grid.json                 which grid and variant the directory holds (another grid is refused)
//   runs/<cell>_seed<S>/      one training run each (lab::run_training: checkpoints, model.lbar, metrics.csv,
//                             results.json with "test", "wall_seconds" and "grid")
//   results.json, table.md, table.csv   rewritten after every run, so a partial grid always has an up-to-date table
//   accuracy_vs_bits.{svg,png,dat,gp}   after every seed                     (both: lab/grid_report.h)
// Resume: for every run the policy of lab/run_policy.h decides from its directory — reuse a finished run, continue
// an interrupted one from its checkpoint (the Trainer's bit-exact resume), train a missing one, refuse a directory
// holding another configuration. So re-running the same command after an interruption finishes the grid.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lab/grid.h"
#include "lab/plot.h"
#include "lab/results.h"
#include "lab/run_policy.h"
#include "nn/data/dataset.h"

namespace lowbit::lab {

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
  std::vector<RunResult> runs;  // in run order
  int trained = 0, reused = 0;  // trained counts continued runs too
  double wall_seconds = 0.0;    // of this invocation
  bool plotted = false;
  std::string plot_error;       // why the figure was not rendered (gnuplot missing or failing)
};

GridOutcome run_grid(const Grid& g, const RunnerOptions& o);

// What identifies one run of a cell in its directory (the input of decide_run).
RunIdentity run_identity(const Grid& g, const GridCell& c, uint64_t seed);

// What a dry run prints: every cell (model, data set, quantization, epochs, training images, init, estimated
// time per run) and the estimated total.
std::string describe_grid(const Grid& g);

}  // namespace lowbit::lab
