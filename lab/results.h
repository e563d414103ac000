// Results of a named experiment grid (`lowbit reproduce <table>`): runs grouped into cells, summarised as
// mean ± sample std over seeds (and the mean of every per-run metric: size, average bits, BitOPs, ...), the
// shared teachers in their own table, the claims under test with verdicts (lab/verdict.h), the runs still
// missing, written as
//   <dir>/results.json  every run and every cell, with provenance (git revision, compiler, ISA, threads, datasets)
//   <dir>/table.md      the table a reader looks at
//   <dir>/table.csv     one row per cell, for other tools
// All files are written atomically (nn::write_file_atomic), so an interrupted run never leaves half a table.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/claim.h"

namespace lowbit::lab {

// One finished training run.
struct RunResult {
  std::string cell;                           // row label, e.g. "DoReFa W2A2, first/last fp32"
  std::map<std::string, std::string> params;  // model, dataset, method, wbits, abits, first_last, ...
  uint64_t seed = 0;
  double metric = 0.0;       // the table's metric, e.g. test top-1 accuracy in %
  double wall_seconds = 0.0;
  int epochs = 0;
  int64_t images = 0;        // training images seen: epochs × training images
  // What the run reported in its results.json: "metrics" (numbers: size_bytes, avg_wbits, bitops, ...) and
  // "layer_bits" ([{"layer", "wbits", "abits", "weights"}]); null when it reported none.
  nlohmann::json metrics, layer_bits;
};

// Summary of the runs of one cell.
struct CellSummary {
  std::string cell;
  std::map<std::string, std::string> params;
  std::vector<uint64_t> seeds;
  std::vector<double> values;
  double mean = 0.0;
  double stddev = 0.0;  // sample standard deviation (n − 1); 0 for a single run
  double min = 0.0, max = 0.0;
  double wall_seconds_total = 0.0;
  int epochs = 0;
  int64_t images = 0;                      // of one run (the first)
  std::map<std::string, double> metrics;   // mean over the runs reporting each numeric metric
  nlohmann::json layer_bits;               // of the first run that reported them
};

// Groups runs into cells in order of first appearance. Throws lowbit::Error if runs of one cell disagree on params.
std::vector<CellSummary> summarize(const std::vector<RunResult>& runs);

struct ResultsTable {
  std::string name;         // e.g. "baselines"
  std::string title;        // Markdown heading
  std::string metric_name;  // e.g. "test top-1 (%)"
  std::vector<std::string> param_columns;  // params shown as columns, in this order
  std::vector<std::string> metric_columns;  // per-run metrics shown as columns (mean over seeds), in this order
  std::vector<RunResult> runs;
  std::vector<RunResult> teacher_runs;      // cell = "teacher:<id>"; their own table
  std::vector<Claim> claims;
  std::vector<std::string> missing;         // runs of the grid not finished yet ("<cell> seed <S>")
  nlohmann::json provenance;  // git revision, compiler, ISA, threads, dataset checksums, command line, ...
  std::string notes;          // free Markdown appended under the table
  nlohmann::json extra = nlohmann::json::object();  // more top-level keys of results.json (grid_definition, ...)
};

// "90.12 ± 0.31" with the given number of decimals.
std::string format_mean_std(double mean, double stddev, int decimals = 2);
std::string render_markdown(const ResultsTable& t);
std::string render_csv(const ResultsTable& t);
nlohmann::json render_json(const ResultsTable& t);
// Writes results.json, table.md and table.csv into dir (created if missing).
void write_results(const std::string& dir, const ResultsTable& t);

}  // namespace lowbit::lab
