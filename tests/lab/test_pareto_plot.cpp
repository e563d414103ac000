// The mixed-precision figures of lab/grid_report.h: the Pareto front of a series, the accuracy-vs-size and
// accuracy-vs-BitOPs panels (method and uniform series, their fronts, the fp32 line from the teacher), the
// per-layer-bits bars of mixed cells only, and gnuplot renders them when installed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "lab/grid_report.h"

using namespace lowbit::lab;

namespace {

RunResult run(const std::string& cell, uint64_t seed, double acc, double size, nlohmann::json layer_bits) {
  RunResult r;
  r.cell = cell;
  r.seed = seed;
  r.metric = acc;
  r.metrics = {{"size_bytes", size}, {"bitops", size * 1000}};
  r.layer_bits = std::move(layer_bits);
  return r;
}

GridCell cell(const std::string& id, const std::string& label, const std::string& method, int wbits) {
  GridCell c;
  c.id = id;
  c.label = label;
  c.model = "lenet5";
  c.dataset = "mnist";
  c.method_label = method;
  c.precision_label = "mixed";
  c.quant = lowbit::quant::QuantSpec{lowbit::quant::PrecisionConfig::uniform(lowbit::quant::Scheme::dorefa, wbits, 4)};
  c.teacher = "t";
  return c;
}

}  // namespace

TEST_CASE("pareto front: the points no other point beats in both size and accuracy, by size") {
  CHECK(pareto_front({1, 2, 3, 4}, {50, 60, 55, 70}) == std::vector<size_t>{0, 1, 3});
  CHECK(pareto_front({4, 3, 2, 1}, {90, 80, 70, 60}) == std::vector<size_t>{3, 2, 1, 0});
  CHECK(pareto_front({1, 1}, {50, 60}) == std::vector<size_t>{1});
  CHECK(pareto_front({}, {}).empty());
}

TEST_CASE("pareto and layer-bits figures: series, fronts, the fp32 line, mixed cells only") {
  Grid g;
  g.name = "mixed";
  g.title = "Mixed";
  g.seeds = {1, 2};
  g.figures = {"accuracy_vs_size", "accuracy_vs_bitops", "layer_bits"};
  GridTeacher t;
  t.id = "t";
  t.model = "lenet5";
  t.dataset = "mnist";
  g.teachers = {t};
  g.cells = {cell("u2", "LeNet-5 MNIST: uniform W2", "uniform", 2), cell("u4", "LeNet-5 MNIST: uniform W4", "uniform", 4),
             cell("m1", "LeNet-5 MNIST: DFQ 1.5 bits", "DFQ", 2), cell("m2", "LeNet-5 MNIST: DFQ 3 bits", "DFQ", 4)};
  for (GridCell& c : g.cells) c.init_from = "teacher";
  const nlohmann::json uniform2 = {{{"layer", "conv1"}, {"wbits", 2}}, {{"layer", "fc3"}, {"wbits", 2}}};
  const nlohmann::json mixed = {{{"layer", "conv1"}, {"wbits", 4}}, {{"layer", "fc3"}, {"wbits", 1}}};
  std::vector<RunResult> runs;
  for (uint64_t s : {1, 2}) {
    runs.push_back(run("LeNet-5 MNIST: uniform W2", s, 95 + s, 2000, uniform2));
    runs.push_back(run("LeNet-5 MNIST: uniform W4", s, 97 + s, 4000, uniform2));
    runs.push_back(run("LeNet-5 MNIST: DFQ 1.5 bits", s, 96 + s, 1500, mixed));
    runs.push_back(run("LeNet-5 MNIST: DFQ 3 bits", s, 94 + s, 3000, mixed));  // dominated by the 1.5-bit point
  }
  RunResult teacher = run("teacher:t", 1, 99, 40000, nullptr);
  const PlotFigure size = make_pareto_figure(g, runs, {teacher}, "size_bytes");
  REQUIRE(size.panels.size() == 1);
  const PlotSpec& p = size.panels[0];
  CHECK(p.log_x);
  REQUIRE(p.series.size() == 4);  // uniform points + front, DFQ points + front
  CHECK(p.series[0].label == "uniform");
  CHECK(p.series[0].x == std::vector<double>{2000, 4000});
  CHECK(p.series[1].label.empty());
  CHECK(p.series[1].with == "lines");
  CHECK(p.series[1].x == std::vector<double>{2000, 4000});
  CHECK(p.series[2].label == "DFQ");
  CHECK(p.series[3].x == std::vector<double>{1500});  // the 3-bit point is dominated
  REQUIRE(p.hlines.size() == 1);
  CHECK(p.hlines[0].y == 99);
  CHECK(p.hlines[0].label == "fp32 teacher (99.00)");
  CHECK(make_pareto_figure(g, runs, {teacher}, "bitops").panels[0].series[0].x == std::vector<double>{2e6, 4e6});

  const PlotFigure bits = make_layer_bits_figure(g, runs);
  REQUIRE(bits.panels.size() == 1);
  CHECK(bits.panels[0].xtics == std::vector<std::string>{"conv1", "fc3"});
  REQUIRE(bits.panels[0].series.size() == 2);  // the two DFQ cells; uniform W2 has one bit width
  CHECK(bits.panels[0].series[0].label == "DFQ 1.5 bits");
  CHECK(bits.panels[0].series[0].y == std::vector<double>{4, 1});
  CHECK(figure_stem(g, 0) == "plot");
  CHECK(figure_stem(g, 2) == "plot_layer_bits");

  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    MESSAGE("gnuplot not installed: rendering skipped");
    return;
  }
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lowbit_test_pareto_" + std::to_string(::getpid()));
  std::string why;
  CHECK_MESSAGE(write_plot(dir.string(), "size", size, &why), why);
  CHECK_MESSAGE(write_plot(dir.string(), "bits", bits, &why), why);
  CHECK(std::filesystem::exists(dir / "size.svg"));
  CHECK(std::filesystem::exists(dir / "bits.png"));
  std::filesystem::remove_all(dir);
}
