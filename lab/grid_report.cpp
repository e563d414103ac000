#include "lab/grid_report.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "nn/train/config.h"

namespace lowbit::lab {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string first_line_with(const std::string& path, const std::string& prefix) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

// Facts a reader needs to judge the wall times: the CPU and how busy the machine was when the grid started.
nlohmann::json machine_info() {
  nlohmann::json m = nlohmann::json::object();
  std::string cpu = first_line_with("/proc/cpuinfo", "model name");
  if (const size_t colon = cpu.find(':'); colon != std::string::npos) m["cpu"] = cpu.substr(colon + 2);
  std::ifstream f("/proc/loadavg");
  std::string load;
  if (std::getline(f, load) && !load.empty()) m["loadavg_at_start"] = load;
  return m;
}

std::string panel_title(const GridCell& c) {
  const size_t colon = c.label.find(':');
  return colon == std::string::npos ? c.model + " " + c.dataset : c.label.substr(0, colon);
}

}  // namespace

std::map<std::string, std::string> cell_params(const GridCell& c, int64_t available) {
  const quant::Precision d = c.quant ? c.quant->precision.defaults : quant::Precision{};
  const bool ternary = d.scheme == quant::Scheme::twn;
  std::string first_last = "–";
  if (c.quant)
    first_last = c.quant->precision.first_last == quant::EdgePolicy::q ? "quantized"
                                                                        : quant::edge_policy_name(c.quant->precision.first_last);
  std::map<std::string, std::string> p = {
      {"model", c.model},
      {"dataset", c.dataset},
      {"method", c.method_label},
      {"W", !c.quant ? "32" : ternary ? "t" : std::to_string(d.wbits)},
      {"A", !c.quant ? "32" : std::to_string(d.abits)},
      {"first/last", first_last},
      {"init", c.init_from.empty() ? "random" : c.init_from},
  };
  p["train images"] =
      std::to_string(c.train_subset > 0 && (available == 0 || c.train_subset < available) ? c.train_subset : available);
  return p;
}

ResultsTable make_table(const Grid& g, const std::vector<RunResult>& runs, const nlohmann::json& provenance) {
  ResultsTable t;
  t.name = g.name;
  t.title = g.title;
  t.metric_name = "test top-1 %";
  t.param_columns = {"model", "dataset", "method", "W", "A", "first/last", "train images"};
  t.runs = runs;
  t.claims = g.claims;
  t.provenance = provenance;
  t.notes = g.notes;
  return t;
}

PlotFigure make_figure(const Grid& g, const std::vector<RunResult>& runs) {
  PlotFigure fig;
  fig.title = g.title;
  fig.panel_height = 460;
  const std::vector<CellSummary> cells = summarize(runs);
  // Methods in grid order give each method one colour in every panel.
  std::vector<std::string> methods, panels;
  for (const GridCell& c : g.cells) {
    if (std::find(methods.begin(), methods.end(), c.method_label) == methods.end()) methods.push_back(c.method_label);
    if (std::find(panels.begin(), panels.end(), panel_title(c)) == panels.end()) panels.push_back(panel_title(c));
  }
  for (const std::string& panel : panels) {
    PlotSpec spec;
    spec.title = panel;
    spec.xlabel = "precision (weights / activations)";
    spec.ylabel = "test top-1 (%)";
    spec.xtics = g.precision_order;
    for (size_t m = 0; m < methods.size(); ++m) {
      std::vector<std::pair<double, const CellSummary*>> pts;
      for (const GridCell& c : g.cells) {
        if (panel_title(c) != panel || c.method_label != methods[m]) continue;
        const auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& s) { return s.cell == c.label; });
        const auto x = std::find(g.precision_order.begin(), g.precision_order.end(), c.precision_label);
        if (it == cells.end() || x == g.precision_order.end()) continue;
        pts.emplace_back(static_cast<double>(x - g.precision_order.begin()), &*it);
      }
      if (pts.empty()) continue;  // not run (yet): no empty data block, gnuplot would refuse it
      std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      PlotSeries s;
      s.label = methods[m];
      s.style = static_cast<int>(m) + 1;
      for (const auto& [x, cs] : pts) {
        s.x.push_back(x);
        s.y.push_back(cs->mean);
        s.err.push_back(cs->stddev);
      }
      spec.series.push_back(std::move(s));
    }
    if (!spec.series.empty()) fig.panels.push_back(std::move(spec));
  }
  return fig;
}

nlohmann::json grid_provenance(const Grid& g, const std::string& command_line, const nlohmann::json& datasets) {
  nlohmann::json prov = nn::build_info();
  prov["grid"] = g.name;
  prov["variant"] = g.variant;
  prov["seeds"] = g.seeds;
  prov["command_line"] = command_line;
  prov["started_at"] = utc_now();
  const nlohmann::json machine = machine_info();
  for (auto it = machine.begin(); it != machine.end(); ++it) prov[it.key()] = it.value();
  prov["datasets"] = datasets;
  return prov;
}

GridReport::GridReport(const Grid& g, std::string out_dir, nlohmann::json provenance, size_t total_runs, bool plot)
    : grid_(g), out_(std::move(out_dir)), provenance_(std::move(provenance)), total_(total_runs), plot_(plot),
      started_(now_seconds()) {}

void GridReport::write_tables(const std::vector<RunResult>& runs, bool finished) {
  nlohmann::json p = provenance_;
  p["runs_finished"] = fmt::format("{} of {}", runs.size(), total_);
  p["wall_seconds_this_invocation"] = now_seconds() - started_;
  if (finished) p["finished_at"] = utc_now();
  write_results(out_, make_table(grid_, runs, p));
}

void GridReport::write_figure(const std::vector<RunResult>& runs) {
  const PlotFigure fig = make_figure(grid_, runs);
  if (fig.panels.empty()) return;
  std::string why;
  plotted_ = plot_ && write_plot(out_, "accuracy_vs_bits", fig, &why);
  if (!plot_) why = "plotting disabled";
  plot_error_ = plotted_ ? "" : why;
}

}  // namespace lowbit::lab
