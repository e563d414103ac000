// Runs an experiment grid (lab/grid.h) in this process and writes its table.
//
// Order: seed by seed (so an interrupted grid has every cell with as many seeds as possible), and within a seed
// the cells in grid order — each cell's init_from cell comes earlier, so the fp32 model of a (model, data set,
// seed) is trained before the quantized cells that start from it. A teacher (lab/grid.h) of seed S is trained
// just before the first run of seed S that needs it and reused by every later one.
//
// Shards (plan_runs): the runs are numbered in that order; run k belongs to shard (k mod N) + 1, except that a run
// whose cell starts from an earlier cell goes with that cell's run of the same seed. A shard trains the teachers
// its runs need (teachers only claims name: shard 1), unless RunnerOptions::teachers_dir gives a directory of
// teachers trained before (teachers_only).
//
// Output directory:
//   grid.json                 which grid and variant (and shard) the directory holds (another is refused)
//   teachers/<id>_seed<S>/    one fp32 teacher run each
//   runs/<cell>_seed<S>/      one training run each (lab::run_training: checkpoints, model.lbar, metrics.csv,
//                             results.json with "test", "wall_seconds", "grid", "teacher", "metrics", "layer_bits")
//   results.json, table.md, table.csv   rewritten after every run, so a partial grid always has an up-to-date table
//                             (the runs that finished earlier, of every seed, are read first, before any training)
//   plot*.{svg,png,dat,gp}    the grid's figures, after every seed        (both: lab/grid_report.h)
// --cells (RunnerOptions::cells) narrows what this invocation trains, never what the table expects.
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
  int shard = 0, shard_count = 0;  // run shard `shard` (1-based) of `shard_count`; 0/0 = the whole grid
  bool teachers_only = false;      // train (or reuse) every teacher of every seed, no cell
  // "" = teachers live in <out_dir>/teachers/; else <teachers_dir>/teachers/ holds them finished (read-only).
  std::string teachers_dir;
  // Non-empty: train only the cells whose id matches one of these fnmatch(3) globs ("lenet5_*"); the other cells'
  // runs that have a results.json in this directory still enter the table (reused when finished, continued when
  // interrupted after an epoch), the rest are listed missing. A glob that matches no cell is an error.
  // A long grid can so be run part by part (the cheap models first) into one directory.
  std::vector<std::string> cells;
};

struct GridOutcome {
  std::vector<RunResult> runs;          // in run order
  std::vector<RunResult> teacher_runs;  // cell "teacher:<id>", in the order they were needed
  int trained = 0, reused = 0;  // trained counts continued runs too
  int teachers_trained = 0, teachers_reused = 0;
  double wall_seconds = 0.0;    // of this invocation
  bool plotted = false;
  std::string plot_error;       // why the figure was not rendered (gnuplot missing or failing)
};

GridOutcome run_grid(const Grid& g, const RunnerOptions& o);

// One run of the grid: cell index × seed, its place in the run order and its shard (1-based, of `count`).
struct PlannedRun {
  uint64_t seed = 0;
  size_t cell = 0;
  size_t order = 0;
  int shard = 1;
};
// The runs of shard `shard` of `count` in run order (count 0: every run, shard 1). Throws unless
// 1 ≤ shard ≤ count (or both 0).
std::vector<PlannedRun> plan_runs(const Grid& g, int shard = 0, int count = 0);
// A model file's weights fingerprint: the CRC-32 of its tensors (names, shapes, data) without the metadata, so
// two trainings that give the same weights match even though their histories (wall times) differ. 8 hex digits.
std::string weights_crc32(const std::string& model_file);
// Parses "I/N" (1 ≤ I ≤ N); throws saying what is wrong.
std::pair<int, int> parse_shard(const std::string& text);

// What identifies one run of a cell in its directory (the input of decide_run); the teacher's CRC-32 is added by
// the runner once the teacher exists.
RunIdentity run_identity(const Grid& g, const GridCell& c, uint64_t seed);
RunIdentity teacher_identity(const Grid& g, const GridTeacher& t, uint64_t seed);

// What a dry run prints: the teachers, every cell (model, data set, quantization, method, teacher, epochs,
// training images, init, estimated time per run), the shard's runs and the estimated total. With `cells` (the
// --cells globs) only the matching cells are listed and the selection's estimate is added; a glob that matches
// no cell is an error, as in run_grid.
std::string describe_grid(const Grid& g, int shard = 0, int count = 0, const std::vector<std::string>& cells = {});

}  // namespace lowbit::lab
