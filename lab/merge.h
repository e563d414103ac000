// `lowbit reproduce merge DIR... --out DIR`: the shards of one grid (lowbit reproduce <table> --shard I/N, each
// into its own directory, e.g. on the machines of a Slurm job array) combined into one table: results.json,
// table.md, table.csv and the figures, as the unsharded grid writes them (runs in grid order, the runs no shard
// has finished listed as missing). The runs stay where they are; the merged results.json names the shard
// directories (by their last path component) it came from.
//
// Refused, naming the directories: a directory without a reproduce results.json; shards of different grids or
// variants, or of the same grid name with different definitions (cells, seeds, claims, ...: the grid JSON each
// shard records is compared whole); different git revisions; the same run (cell, seed) in two shards; a teacher
// (id, seed) with different CRC-32s in two shards (the cells of that seed would not share one teacher); an output
// directory that is one of the inputs.
#pragma once
#include <string>
#include <vector>

namespace lowbit::lab {

struct MergeOptions {
  std::vector<std::string> dirs;  // the shards' output directories
  std::string out_dir;
  std::string command_line;       // recorded in the provenance
  bool plot = true;
};

struct MergeOutcome {
  std::string grid, variant;
  size_t runs = 0, teacher_runs = 0, missing = 0;
  bool plotted = false;
  std::string plot_error;
};

MergeOutcome merge_shards(const MergeOptions& o);

// `lowbit reproduce replot DIR`: the figures of a grid's output directory drawn again from its results.json alone
// (no run directory needed; tables untouched), e.g. after a change of the plots. The grid is the one results.json
// records (grid_definition), else the built-in table its grid.json names (results of an older lowbit). Returns
// what merge_shards does (runs and figures); refuses, naming the file, a directory without them.
MergeOutcome replot(const std::string& dir, bool plot);

}  // namespace lowbit::lab
