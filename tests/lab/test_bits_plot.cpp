// The accuracy-vs-bits figure of a grid (lab/grid_report.h make_figure) as gnuplot gets it (lab/plot.h): a series
// is not joined across a precision category where it has no point, the fp32 cell is each panel's dashed reference
// line (not a point at an "fp32" category), the figure has one key, and series that share a category are drawn
// side by side with their own point shapes. Checked on the generated .dat/.gp text, and rendered when gnuplot is
// installed. `lowbit reproduce replot` (lab/merge.h) draws a table's figures again from its results.json.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "lab/grid.h"
#include "lab/grid_report.h"
#include "lab/merge.h"
#include "lab/plot.h"

using namespace lowbit::lab;

namespace {

GridCell cell(const std::string& panel, const std::string& method, const std::string& precision, bool fp32) {
  GridCell c;
  c.label = panel + ": " + method + " " + precision;
  c.id = c.label;
  c.model = "lenet5";
  c.dataset = "mnist";
  c.method_label = method;
  c.precision_label = precision;
  if (!fp32)
    c.quant = lowbit::quant::QuantSpec{lowbit::quant::PrecisionConfig::uniform(lowbit::quant::Scheme::dorefa, 2, 2)};
  return c;
}

RunResult run(const GridCell& c, uint64_t seed, double acc) {
  RunResult r;
  r.cell = c.label;
  r.seed = seed;
  r.metric = acc;
  return r;
}

// The data blocks of a .dat text (separated by two blank lines), each split into its line segments (separated by
// one blank line), each a list of "x y err" lines.
std::vector<std::vector<std::vector<std::string>>> blocks(const std::string& dat) {
  std::vector<std::vector<std::vector<std::string>>> out(1, std::vector<std::vector<std::string>>(1));
  std::istringstream in(dat);
  std::string line;
  int blank = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      ++blank;
      continue;
    }
    if (blank >= 2) out.push_back(std::vector<std::vector<std::string>>(1));
    else if (blank == 1) out.back().push_back({});
    blank = 0;
    if (line[0] != '#') out.back().back().push_back(line);
  }
  return out;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("accuracy-vs-bits figure: no line across a missing category, fp32 line, one key, series side by side") {
  Grid g;
  g.name = "bits";
  g.title = "Bits";
  g.seeds = {1, 2};
  g.precision_order = {"W1A1", "W1A2", "W2A2", "W4A4", "fp32"};
  g.cells = {cell("A", "fp32", "fp32", true),   cell("A", "DoReFa", "W1A1", false), cell("A", "DoReFa", "W2A2", false),
             cell("A", "DoReFa", "W4A4", false), cell("A", "TWN", "W1A1", false),    cell("A", "TWN", "W4A4", false),
             cell("B", "fp32", "fp32", true),   cell("B", "DoReFa", "W1A1", false), cell("B", "PACT", "W2A2", false)};
  std::vector<RunResult> runs;
  for (uint64_t s : {1, 2})
    for (size_t i = 0; i < g.cells.size(); ++i) runs.push_back(run(g.cells[i], s, 80.0 + static_cast<double>(i) + s));

  const PlotFigure fig = make_figure(g, runs);
  CHECK(fig.one_key);
  REQUIRE(fig.panels.size() == 2);
  const PlotSpec& a = fig.panels[0];
  // fp32 is the panel's reference line, not a category: the categories are the precisions some quantized cell
  // has (no cell has W1A2, only the fp32 cells have fp32).
  CHECK(a.xtics == std::vector<std::string>{"W1A1", "W2A2", "W4A4"});
  REQUIRE(a.hlines.size() == 1);
  CHECK(a.hlines[0].y == doctest::Approx(81.5));  // the fp32 cell's mean over seeds 1 and 2
  CHECK(a.hlines[0].label == "fp32");
  CHECK(a.hlines[0].note == "fp32 81.50");
  REQUIRE(a.series.size() == 2);  // DoReFa, TWN; no fp32 point
  CHECK(a.series[0].label == "DoReFa");
  CHECK(a.series[0].x == std::vector<double>{0, 1, 2});
  CHECK(a.series[1].label == "TWN");
  CHECK(a.series[1].x == std::vector<double>{0, 2});
  CHECK(a.series[1].style == 3);  // a method keeps its colour (grid order: fp32, DoReFa, TWN, PACT)
  CHECK(a.dodge > 0);
  CHECK(fig.panels[1].series.size() == 2);  // DoReFa, PACT

  // The data: TWN's block has two segments (W1A1 | W4A4), no line across W2A2; series sit side by side.
  const std::string dat = render_gnuplot_data(fig);
  const auto b = blocks(dat);
  REQUIRE(b.size() == 4);
  CHECK(b[0].size() == 1);  // DoReFa in A: three neighbouring categories, one segment
  CHECK(b[0][0].size() == 3);
  REQUIRE(b[1].size() == 2);  // TWN in A: broken at the missing category
  CHECK(b[1][0].size() == 1);
  CHECK(b[1][1].size() == 1);
  const double dodge = a.dodge;
  CHECK(std::stod(b[0][0][0]) == doctest::Approx(-dodge / 2));  // two series: at −dodge/2 and +dodge/2
  CHECK(std::stod(b[1][0][0]) == doctest::Approx(dodge / 2));
  CHECK(std::stod(b[1][1][0]) == doctest::Approx(2 + dodge / 2));

  // The script: one key (the first panel's, listing every method and the fp32 line once), none on the second, the
  // dashed fp32 line with its value in every panel, a point shape per series.
  const std::string gp = render_gnuplot_script(fig, "fig.dat", "fig");
  const std::string svg_part = gp.substr(0, gp.find("set terminal pngcairo"));
  CHECK(count(svg_part, "set key outside right top") == 1);
  CHECK(count(svg_part, "unset key") == 1);
  CHECK(count(svg_part, "keyentry") == 4);  // DoReFa, TWN, PACT, fp32
  for (const char* title : {"title \"DoReFa\"", "title \"TWN\"", "title \"PACT\"", "title \"fp32\""})
    CHECK_MESSAGE(count(svg_part, title) == 1, title);
  CHECK(count(svg_part, "index 1 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 notitle") == 1);  // TWN
  CHECK(count(svg_part, "81.5 with lines dt 2") == 1);
  CHECK(count(svg_part, "set label 1 \"fp32 81.50\"") == 1);
  CHECK(count(svg_part, "set xrange [-0.5:2.5]") == 2);  // the same categories in both panels
  CHECK(count(svg_part, "set rmargin at screen") == 1);  // aligned panels
  CHECK(svg_part.find("\"fp32\" 4") == std::string::npos);  // no fp32 x category

  // A figure without one_key keeps a key per panel.
  PlotFigure own = fig;
  own.one_key = false;
  const std::string gp_own = render_gnuplot_script(own, "fig.dat", "fig");
  CHECK(count(gp_own.substr(0, gp_own.find("set terminal pngcairo")), "set key outside right top") == 2);
  CHECK(gp_own.find("keyentry") == std::string::npos);

  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    MESSAGE("gnuplot not installed: rendering skipped");
    return;
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lowbit_test_bits_plot_" + std::to_string(::getpid()));
  std::string why;
  CHECK_MESSAGE(write_plot(dir.string(), "plot", fig, &why), why);
  CHECK(std::filesystem::exists(dir / "plot.svg"));
  CHECK(std::filesystem::exists(dir / "plot.png"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("replot: a table's figures drawn again from its results.json, by its recorded grid or its grid.json") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lowbit_test_replot_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto write = [&](const char* name, const nlohmann::json& j) { std::ofstream(dir / name) << j.dump(); };
  auto read = [&](const char* name) {
    std::ifstream f(dir / name);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  // An older lowbit's baselines table: runs, and grid.json naming the built-in table.
  const Grid g = load_named_grid("baselines", false);
  std::vector<RunResult> runs;
  nlohmann::json rj = {{"runs", nlohmann::json::array()}};
  for (uint64_t s : {1, 2})
    for (size_t i = 0; i < 6; ++i) {
      RunResult r = run(g.cells[i], s, 60.0 + static_cast<double>(i) + static_cast<double>(s) / 4);
      runs.push_back(r);
      rj["runs"].push_back({{"cell", r.cell}, {"params", nlohmann::json::object()}, {"seed", s}, {"metric", r.metric}});
    }
  write("results.json", rj);
  CHECK_THROWS_WITH_AS(replot(dir.string(), false), doctest::Contains("grid.json' does not exist"), lowbit::Error);
  write("grid.json", {{"grid", "baselines"}, {"variant", "full"}});
  MergeOutcome out = replot(dir.string(), false);
  CHECK(out.grid == "baselines");
  CHECK(out.runs == 12);
  CHECK(read("plot.dat") == render_gnuplot_data(make_figure(g, runs)));
  CHECK(read("plot.gp") == render_gnuplot_script(make_figure(g, runs), "plot.dat", "plot"));
  CHECK_FALSE(std::filesystem::exists(dir / "table.md"));  // tables untouched

  // A results.json that records its grid uses that grid; a run of a cell the grid lacks is refused.
  Grid small = g;
  small.cells.resize(6);
  rj["grid_definition"] = grid_to_json(small);
  write("results.json", rj);
  std::filesystem::remove(dir / "grid.json");
  out = replot(dir.string(), false);
  CHECK(out.runs == 12);
  small.cells.resize(5);
  rj["grid_definition"] = grid_to_json(small);
  write("results.json", rj);
  CHECK_THROWS_WITH_AS(replot(dir.string(), false), doctest::Contains("which grid baselines (full) does not have"),
                       lowbit::Error);
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH_AS(replot(dir.string(), false), doctest::Contains("has no results.json"), lowbit::Error);
}
