#include "lab/grid_report.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "engine/error.h"
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
      {"init", c.init_from.empty() ? "random" : c.init_from == kInitFromTeacher ? "teacher:" + c.teacher : c.init_from},
      {"teacher", c.teacher.empty() ? "–" : c.teacher},
  };
  p["train images"] =
      std::to_string(c.train_subset > 0 && (available == 0 || c.train_subset < available) ? c.train_subset : available);
  return p;
}

ResultsTable make_table(const Grid& g, const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs,
                        const nlohmann::json& provenance, const ExpectedRuns& expected) {
  ResultsTable t;
  t.name = g.name;
  t.title = g.title;
  t.metric_name = "test top-1 %";
  t.param_columns = {"model", "dataset", "method", "W", "A", "first/last", "init", "train images"};
  if (!g.teachers.empty()) t.param_columns.insert(t.param_columns.end() - 2, "teacher");
  t.metric_columns = g.metric_columns;
  // Runs in grid order (seed by seed, cells in grid order) whatever order they arrived in (merged shards).
  auto order = [&](const RunResult& r) {
    const auto seed = std::find(g.seeds.begin(), g.seeds.end(), r.seed) - g.seeds.begin();
    const auto cell = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return c.label == r.cell; }) -
                      g.cells.begin();
    return std::make_pair(seed, cell);
  };
  t.runs = runs;
  std::stable_sort(t.runs.begin(), t.runs.end(), [&](const RunResult& a, const RunResult& b) { return order(a) < order(b); });
  t.teacher_runs = teacher_runs;
  auto teacher_order = [&](const RunResult& r) {
    const auto seed = std::find(g.seeds.begin(), g.seeds.end(), r.seed) - g.seeds.begin();
    const auto id = std::find_if(g.teachers.begin(), g.teachers.end(), [&](const GridTeacher& x) {
                      return kTeacherRowPrefix + x.id == r.cell;
                    }) - g.teachers.begin();
    return std::make_pair(id, seed);
  };
  std::stable_sort(t.teacher_runs.begin(), t.teacher_runs.end(),
                   [&](const RunResult& a, const RunResult& b) { return teacher_order(a) < teacher_order(b); });
  t.claims = g.claims;
  t.provenance = provenance;
  t.notes = g.notes;
  for (const auto& [label, seed] : expected)
    if (std::none_of(runs.begin(), runs.end(), [&](const RunResult& r) { return r.cell == label && r.seed == seed; }))
      t.missing.push_back(fmt::format("{} seed {}", label, seed));
  t.extra["grid_definition"] = grid_to_json(g);
  return t;
}

PlotFigure make_figure(const Grid& g, const std::vector<RunResult>& runs) {
  PlotFigure fig;
  fig.title = g.title;
  fig.panel_height = 460;
  fig.one_key = true;
  const std::vector<CellSummary> cells = summarize(runs);
  auto is_fp32 = [](const GridCell& c) { return !c.quant && c.method.is_null(); };
  // Methods in grid order give each method one colour in every panel. fp32 cells are each panel's reference
  // line, so a precision only they have is no x category.
  std::vector<std::string> methods, panels, categories;
  for (const GridCell& c : g.cells) {
    if (std::find(methods.begin(), methods.end(), c.method_label) == methods.end()) methods.push_back(c.method_label);
    if (std::find(panels.begin(), panels.end(), panel_title(c)) == panels.end()) panels.push_back(panel_title(c));
  }
  for (const std::string& p : g.precision_order)
    if (std::any_of(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return !is_fp32(c) && c.precision_label == p; }))
      categories.push_back(p);
  for (const std::string& panel : panels) {
    PlotSpec spec;
    spec.title = panel;
    spec.xlabel = "precision (weights / activations)";
    spec.ylabel = "test top-1 (%)";
    spec.xtics = categories;
    spec.dodge = 0.1;
    for (const GridCell& c : g.cells) {
      const auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& s) { return s.cell == c.label; });
      if (panel_title(c) == panel && is_fp32(c) && it != cells.end() && spec.hlines.empty())
        spec.hlines.push_back({it->mean, c.method_label, fmt::format("{} {:.2f}", c.method_label, it->mean)});
    }
    for (size_t m = 0; m < methods.size(); ++m) {
      std::vector<std::pair<double, const CellSummary*>> pts;
      for (const GridCell& c : g.cells) {
        if (panel_title(c) != panel || c.method_label != methods[m] || is_fp32(c)) continue;
        const auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& s) { return s.cell == c.label; });
        const auto x = std::find(categories.begin(), categories.end(), c.precision_label);
        if (it == cells.end() || x == categories.end()) continue;
        pts.emplace_back(static_cast<double>(x - categories.begin()), &*it);
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
    if (!spec.series.empty() || !spec.hlines.empty()) fig.panels.push_back(std::move(spec));
  }
  return fig;
}

namespace {

const CellSummary* summary_of(const std::vector<CellSummary>& cells, const std::string& label) {
  const auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& s) { return s.cell == label; });
  return it == cells.end() ? nullptr : &*it;
}

std::vector<std::string> panels_of(const Grid& g) {
  std::vector<std::string> panels;
  for (const GridCell& c : g.cells)
    if (std::find(panels.begin(), panels.end(), panel_title(c)) == panels.end()) panels.push_back(panel_title(c));
  return panels;
}

std::vector<std::string> methods_of(const Grid& g) {
  std::vector<std::string> methods;
  for (const GridCell& c : g.cells)
    if (std::find(methods.begin(), methods.end(), c.method_label) == methods.end()) methods.push_back(c.method_label);
  return methods;
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<size_t> front;
  for (size_t i = 0; i < x.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < x.size() && !dominated; ++j)
      dominated = j != i && x[j] <= x[i] && y[j] >= y[i] && (x[j] < x[i] || y[j] > y[i]);
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return x[a] < x[b] || (x[a] == x[b] && a < b); });
  return front;
}

PlotFigure make_pareto_figure(const Grid& g, const std::vector<RunResult>& runs,
                              const std::vector<RunResult>& teacher_runs, const std::string& metric) {
  PlotFigure fig;
  fig.title = g.title;
  fig.panel_height = 460;
  const std::vector<CellSummary> cells = summarize(runs);
  const std::vector<CellSummary> teachers = summarize(teacher_runs);
  const std::vector<std::string> methods = methods_of(g);
  for (const std::string& panel : panels_of(g)) {
    PlotSpec spec;
    spec.title = panel;
    spec.xlabel = metric == "size_bytes" ? "model size (bytes, packed weights + scales; log scale)"
                                         : metric == "bitops" ? "BitOPs (MACs x wbits x abits; log scale)" : metric;
    spec.ylabel = "test top-1 (%)";
    spec.log_x = true;
    // The fp32 line: the panel's fp32 cell, else the teacher its cells name.
    const CellSummary* fp32 = nullptr;
    std::string fp32_what;
    for (const GridCell& c : g.cells) {
      if (panel_title(c) != panel) continue;
      if (!c.quant && c.method.is_null() && !fp32) {
        fp32 = summary_of(cells, c.label);
        fp32_what = "fp32";
      }
    }
    for (const GridCell& c : g.cells)
      if (!fp32 && panel_title(c) == panel && !c.teacher.empty()) {
        fp32 = summary_of(teachers, kTeacherRowPrefix + c.teacher);
        fp32_what = "fp32 teacher";
      }
    for (size_t m = 0; m < methods.size(); ++m) {
      PlotSeries pts;
      pts.label = methods[m];
      pts.style = static_cast<int>(m) + 1;
      pts.with = "yerrorbars";
      for (const GridCell& c : g.cells) {
        if (panel_title(c) != panel || c.method_label != methods[m]) continue;
        const CellSummary* s = summary_of(cells, c.label);
        if (!s || !s->metrics.count(metric) || !(s->metrics.at(metric) > 0)) continue;
        if (!c.quant && c.method.is_null()) continue;  // fp32 is the line
        pts.x.push_back(s->metrics.at(metric));
        pts.y.push_back(s->mean);
        pts.err.push_back(s->stddev);
      }
      if (pts.x.empty()) continue;
      PlotSeries front;
      front.style = pts.style;
      front.with = "lines";
      for (size_t i : pareto_front(pts.x, pts.y)) {
        front.x.push_back(pts.x[i]);
        front.y.push_back(pts.y[i]);
      }
      spec.series.push_back(std::move(pts));
      spec.series.push_back(std::move(front));
    }
    if (fp32) spec.hlines.push_back({fp32->mean, fmt::format("{} ({:.2f})", fp32_what, fp32->mean), ""});
    if (!spec.series.empty()) fig.panels.push_back(std::move(spec));
  }
  return fig;
}

PlotFigure make_layer_bits_figure(const Grid& g, const std::vector<RunResult>& runs) {
  PlotFigure fig;
  fig.title = g.title + ": per-layer weight bits";
  fig.panel_height = 380;
  const std::vector<CellSummary> cells = summarize(runs);
  for (const std::string& panel : panels_of(g)) {
    PlotSpec spec;
    spec.title = panel;
    spec.xlabel = "layer";
    spec.ylabel = "weight bits";
    std::vector<std::pair<std::string, nlohmann::json>> mixed;  // label, layer_bits
    for (const GridCell& c : g.cells) {
      if (panel_title(c) != panel) continue;
      const CellSummary* s = summary_of(cells, c.label);
      if (!s || !s->layer_bits.is_array() || s->layer_bits.empty()) continue;
      std::set<int> bits;
      for (const nlohmann::json& l : s->layer_bits) bits.insert(l.value("wbits", 0));
      if (bits.size() > 1 || (c.quant && !c.quant->precision.overrides.empty())) mixed.emplace_back(c.label, s->layer_bits);
    }
    if (mixed.empty()) continue;
    for (const nlohmann::json& l : mixed[0].second) spec.xtics.push_back(l.value("layer", "?"));
    const double n = static_cast<double>(mixed.size());
    spec.box_width = 0.8 / n;
    for (size_t k = 0; k < mixed.size(); ++k) {
      PlotSeries s;
      const size_t colon = mixed[k].first.find(':');
      s.label = colon == std::string::npos ? mixed[k].first : mixed[k].first.substr(colon + 2);
      s.style = static_cast<int>(k) + 1;
      s.with = "boxes";
      const nlohmann::json& lb = mixed[k].second;
      for (size_t i = 0; i < lb.size() && i < spec.xtics.size(); ++i) {
        s.x.push_back(static_cast<double>(i) + (static_cast<double>(k) - (n - 1) / 2.0) * spec.box_width);
        s.y.push_back(lb[i].value("wbits", 0));
      }
      spec.series.push_back(std::move(s));
    }
    fig.panels.push_back(std::move(spec));
  }
  return fig;
}

PlotFigure make_figure_of_kind(const Grid& g, const std::string& kind, const std::vector<RunResult>& runs,
                               const std::vector<RunResult>& teacher_runs) {
  if (kind == "accuracy_vs_bits") return make_figure(g, runs);
  if (kind == "accuracy_vs_size") return make_pareto_figure(g, runs, teacher_runs, "size_bytes");
  if (kind == "accuracy_vs_bitops") return make_pareto_figure(g, runs, teacher_runs, "bitops");
  LOWBIT_CHECK(kind == "layer_bits", "unknown figure kind '{}'", kind);
  return make_layer_bits_figure(g, runs);
}

std::string figure_stem(const Grid& g, size_t index) {
  return index == 0 ? std::string("plot") : "plot_" + g.figures.at(index);
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


GridReport::GridReport(const Grid& g, std::string out_dir, nlohmann::json provenance, ExpectedRuns expected, bool plot)
    : grid_(g), out_(std::move(out_dir)), provenance_(std::move(provenance)), expected_(std::move(expected)),
      plot_(plot), started_(now_seconds()) {}

void GridReport::set_extra(const std::string& key, nlohmann::json value) { extra_[key] = std::move(value); }

void GridReport::write_tables(const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs,
                              bool finished) {
  nlohmann::json p = provenance_;
  p["runs_finished"] = fmt::format("{} of {}", runs.size(), expected_.size());
  p["wall_seconds_this_invocation"] = now_seconds() - started_;
  if (finished) p["finished_at"] = utc_now();
  ResultsTable t = make_table(grid_, runs, teacher_runs, p, expected_);
  for (auto it = extra_.begin(); it != extra_.end(); ++it) t.extra[it.key()] = it.value();
  write_results(out_, t);
}

void GridReport::write_figures(const std::vector<RunResult>& runs, const std::vector<RunResult>& teacher_runs) {
  bool all = true, any = false;
  std::string why;
  for (size_t i = 0; i < grid_.figures.size(); ++i) {
    const PlotFigure fig = make_figure_of_kind(grid_, grid_.figures[i], runs, teacher_runs);
    if (fig.panels.empty()) continue;
    any = true;
    std::string w;
    if (!write_plot(out_, figure_stem(grid_, i), fig, &w, plot_)) {
      all = false;
      why = w;
    }
  }
  plotted_ = any && all;
  plot_error_ = plotted_ ? "" : any ? why : "no figure has points yet";
}

}  // namespace lowbit::lab
