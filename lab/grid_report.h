// The reporting half of a grid run (the deciding half is lab/run_policy.h): the table of the runs finished so far
// (results.json, table.md, table.csv; lab/results.h) with the teachers, the claims' verdicts and the runs still
// missing, the grid's figures (lab/plot.h), and the provenance both carry (git revision, compiler, ISA, threads,
// CPU, load, data set checksums, command line). Figures (the grid's "figures"; the first is plot.*, the others
// plot_<kind>.*, each .svg/.png/.dat/.gp):
//   accuracy_vs_bits: one panel per model / data set (the label's text before ':'), one series per method label in
//     grid order (so a method keeps its colour across panels), x = the cell's precision label in the grid's
//     precision_order (series side by side within a category, lines only between neighbouring categories),
//     error bar = std over seeds; the fp32 cell (no quantization, no method) is the panel's dashed reference line;
//     one key for the figure;
//   accuracy_vs_size / accuracy_vs_bitops: Pareto plots, x = the runs' size_bytes / bitops metric (log scale), one
//     series per method label (points with error bars) plus its Pareto front connected, the panel's fp32
//     accuracy (its fp32 cell, else its teacher) as a horizontal line;
//   layer_bits: per panel, grouped bars of the per-layer weight bits of every cell whose layers differ in bits.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/grid.h"
#include "lab/plot.h"
#include "lab/results.h"

namespace lowbit::lab {

// The table columns of a cell: model, dataset, method, W, A, first/last, init, teacher, train images (the
// subset, or `available` training images when the cell trains on all of them).
std::map<std::string, std::string> cell_params(const GridCell& c, int64_t available);

// The rows (label, seed) of the grid's runs, in run order; the table's "missing" are those without a run.
using ExpectedRuns = std::vector<std::pair<std::string, uint64_t>>;

// The table and the figures of a set of finished runs.
ResultsTable make_table(const Grid& g, const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs,
                        const nlohmann::json& provenance, const ExpectedRuns& expected);
PlotFigure make_figure(const Grid& g, const std::vector<RunResult>& runs);  // accuracy_vs_bits
// accuracy_vs_size (metric "size_bytes") or accuracy_vs_bitops ("bitops").
PlotFigure make_pareto_figure(const Grid& g, const std::vector<RunResult>& runs,
                              const std::vector<RunResult>& teacher_runs, const std::string& metric);
PlotFigure make_layer_bits_figure(const Grid& g, const std::vector<RunResult>& runs);
// The figure of one kind (figure_kinds()).
PlotFigure make_figure_of_kind(const Grid& g, const std::string& kind, const std::vector<RunResult>& runs,
                               const std::vector<RunResult>& teacher_runs);
// The points of a series on the Pareto front: no other point has x ≤ and y ≥ with one of them strict. Returns
// their indices sorted by x.
std::vector<size_t> pareto_front(const std::vector<double>& x, const std::vector<double>& y);
// "plot" for the first figure of the grid, "plot_<kind>" for the others.
std::string figure_stem(const Grid& g, size_t index);

// Writes the table and the figures of one grid into its output directory as runs finish.
class GridReport {
 public:
  // provenance: what every table of this invocation records (build, machine, grid, data sets, command line).
  GridReport(const Grid& g, std::string out_dir, nlohmann::json provenance, ExpectedRuns expected, bool plot);
  // A top-level key of results.json besides the table (grid_definition is always there).
  void set_extra(const std::string& key, nlohmann::json value);
  // results.json, table.md, table.csv of the runs, with how many of the expected runs are done; finished: the
  // last write of this invocation (adds finished_at).
  void write_tables(const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs, bool finished);
  // The figures (.dat/.gp always; .svg/.png when gnuplot runs and plotting is on). A figure without points is
  // skipped.
  void write_figures(const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs);
  bool plotted() const { return plotted_; }
  const std::string& plot_error() const { return plot_error_; }  // why a figure was not rendered

 private:
  const Grid& grid_;
  std::string out_;
  nlohmann::json provenance_;
  ExpectedRuns expected_;
  bool plot_;
  nlohmann::json extra_ = nlohmann::json::object();
  double started_;  // steady-clock seconds at construction
  bool plotted_ = false;
  std::string plot_error_;
};

// build_info() plus the machine (CPU, load at start), the grid, its variant and seeds, the command line, the start
// time and the data sets' sizes and checksums ({name: {"train": {n, crc32}, "test": {n, crc32}}}).
nlohmann::json grid_provenance(const Grid& g, const std::string& command_line, const nlohmann::json& datasets);

}  // namespace lowbit::lab
