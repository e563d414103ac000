// The reporting half of a grid run (the deciding half is lab/run_policy.h): the table of the runs finished so far
// (results.json, table.md, table.csv; lab/results.h), the accuracy-vs-bits figure (lab/plot.h), and the
// provenance both carry (git revision, compiler, ISA, threads, CPU, load, data set checksums, command line).
//   accuracy_vs_bits.{svg,png,dat,gp}: one panel per model / data set (the label's text before ':'), one series
//   per method label in grid order (so a method keeps its colour across panels), x = the cell's precision label
//   in the grid's precision_order, error bar = std over seeds.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/grid.h"
#include "lab/plot.h"
#include "lab/results.h"

namespace lowbit::lab {

// The table columns of a cell: model, dataset, method, W, A, first/last, init, train images (the subset, or
// `available` training images when the cell trains on all of them).
std::map<std::string, std::string> cell_params(const GridCell& c, int64_t available);

// The table and the figure of a set of finished runs.
ResultsTable make_table(const Grid& g, const std::vector<RunResult>& runs, const nlohmann::json& provenance);
PlotFigure make_figure(const Grid& g, const std::vector<RunResult>& runs);

// Writes the table and the figure of one grid into its output directory as runs finish.
class GridReport {
 public:
  // provenance: what every table of this invocation records (build, machine, grid, data sets, command line).
  GridReport(const Grid& g, std::string out_dir, nlohmann::json provenance, size_t total_runs, bool plot);
  // results.json, table.md, table.csv of `runs`, with how many of the grid's runs are done; finished: the last
  // write of this invocation (adds finished_at).
  void write_tables(const std::vector<RunResult>& runs, bool finished);
  // The figure (.dat/.gp always; .svg/.png when gnuplot runs and plotting is on). No runs, no figure.
  void write_figure(const std::vector<RunResult>& runs);
  bool plotted() const { return plotted_; }
  const std::string& plot_error() const { return plot_error_; }  // why the figure was not rendered

 private:
  const Grid& grid_;
  std::string out_;
  nlohmann::json provenance_;
  size_t total_;
  bool plot_;
  double started_;  // steady-clock seconds at construction
  bool plotted_ = false;
  std::string plot_error_;
};

// build_info() plus the machine (CPU, load at start), the grid, its variant and seeds, the command line, the start
// time and the data sets' sizes and checksums ({name: {"train": {n, crc32}, "test": {n, crc32}}}).
nlohmann::json grid_provenance(const Grid& g, const std::string& command_line, const nlohmann::json& datasets);

}  // namespace lowbit::lab
