#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/error.h"
#include "lab/plot.h"
#include "lab/results.h"
#include "lab/verdict.h"

using namespace lowbit::lab;

namespace {
RunResult run(const std::string& cell, std::map<std::string, std::string> params, uint64_t seed, double metric,
              double wall, int epochs) {
  RunResult r;
  r.cell = cell;
  r.params = std::move(params);
  r.seed = seed;
  r.metric = metric;
  r.wall_seconds = wall;
  r.epochs = epochs;
  return r;
}
std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
std::string temp_dir(const char* name) {
  auto d = std::filesystem::temp_directory_path() / (std::string("lowbit_test_") + name);
  std::filesystem::remove_all(d);
  return d.string();
}
ResultsTable sample_table() {
  ResultsTable t;
  t.name = "demo";
  t.title = "Demo table";
  t.metric_name = "test top-1 (%)";
  t.param_columns = {"method", "bits"};
  t.runs = {run("fp32", {{"method", "fp32"}, {"bits", "32"}}, 1, 90.0, 10.0, 5),
            run("fp32", {{"method", "fp32"}, {"bits", "32"}}, 2, 92.0, 11.0, 5),
            run("w1a1", {{"method", "dorefa"}, {"bits", "1"}}, 1, 80.0, 12.0, 5),
            run("fp32", {{"method", "fp32"}, {"bits", "32"}}, 3, 91.0, 9.0, 5)};
  for (const auto& [cell, threshold] : std::vector<std::pair<std::string, double>>{{"fp32", 88.0}, {"w1a1", 83.5}, {"w4a4", 90.0}}) {
    Claim c;
    c.id = cell;
    c.text = cell + " reaches " + std::to_string(threshold);
    c.source = "issue";
    c.rule = ClaimRule::threshold;
    c.cell = cell;
    c.threshold = threshold;
    t.claims.push_back(c);
  }
  t.provenance = {{"git_revision", "abc123"}, {"threads", 2}};
  return t;
}
}  // namespace

TEST_CASE("summarize: cells in first-seen order with mean and sample std") {
  const auto cells = summarize(sample_table().runs);
  REQUIRE(cells.size() == 2);
  CHECK(cells[0].cell == "fp32");
  CHECK(cells[0].values.size() == 3);
  CHECK(cells[0].mean == doctest::Approx(91.0));
  CHECK(cells[0].stddev == doctest::Approx(1.0));  // values 90, 92, 91: sample variance 1
  CHECK(cells[0].min == 90.0);
  CHECK(cells[0].max == 92.0);
  CHECK(cells[0].wall_seconds_total == doctest::Approx(30.0));
  CHECK(cells[1].stddev == 0.0);  // a single run has no spread
}

TEST_CASE("summarize: runs of one cell must agree on their parameters") {
  std::vector<RunResult> runs = {run("x", {{"bits", "1"}}, 1, 1.0, 0, 1), run("x", {{"bits", "2"}}, 2, 1.0, 0, 1)};
  CHECK_THROWS_AS(summarize(runs), lowbit::Error);
}

TEST_CASE("claims: held, not held, missing runs in the table") {
  const ResultsTable t = sample_table();
  const auto out = evaluate_claims(summarize(t.runs), t.claims);
  REQUIRE(out.size() == 3);
  CHECK(out[0].verdict == Verdict::held);           // 91 − 2·0.577 ≥ 88
  CHECK(out[1].verdict_text() == "inconclusive (fewer than 2 seeds: w1a1)");
  CHECK(out[2].verdict_text() == "inconclusive (missing runs: w4a4)");
}

TEST_CASE("markdown, csv and json renderings carry the numbers") {
  const ResultsTable t = sample_table();
  const std::string md = render_markdown(t);
  CHECK(md.find("# Demo table") != std::string::npos);
  CHECK(md.find("| fp32 | fp32 | 32 | 91.00 ± 1.00 | 3 | 5 |") != std::string::npos);
  CHECK(md.find("**held**") != std::string::npos);
  CHECK(md.find("**inconclusive (missing runs: w4a4)**") != std::string::npos);
  CHECK(md.find("held if mean − 2·se ≥ 88") != std::string::npos);
  CHECK(md.find("git_revision: abc123") != std::string::npos);
  const std::string csv = render_csv(t);
  CHECK(csv.rfind("cell,method,bits,n,mean,std,min,max,epochs,images,wall_seconds\n", 0) == 0);
  CHECK(csv.find("w1a1,dorefa,1,1,80.0000,0.0000,80.0000,80.0000,5,0,12.0") != std::string::npos);
  const auto j = render_json(t);
  CHECK(j["runs"].size() == 4);
  CHECK(j["cells"][0]["mean"].get<double>() == doctest::Approx(91.0));
  CHECK(j["claims"][0]["verdict"] == "held");
  CHECK(j["claims"][2]["verdict"] == "inconclusive");
  CHECK(j["claims"][2]["verdict_text"] == "inconclusive (missing runs: w4a4)");
}

TEST_CASE("markdown metric columns: means over seeds, large ones rounded to integers") {
  ResultsTable t;
  t.name = "m";
  t.title = "Metrics";
  t.metric_name = "test top-1 (%)";
  t.param_columns = {"method"};
  t.metric_columns = {"size_bytes", "avg_wbits", "search_seconds"};
  RunResult a = run("ccq", {{"method", "ccq"}}, 1, 90.0, 10.0, 1), b = run("ccq", {{"method", "ccq"}}, 2, 91.0, 10.0, 1);
  a.metrics = {{"size_bytes", 17272}, {"avg_wbits", 1.9961}, {"search_seconds", 1200.25}};
  b.metrics = {{"size_bytes", 17301}, {"avg_wbits", 2.0}, {"search_seconds", 1400.5}};
  t.runs = {a, b};
  const std::string md = render_markdown(t);
  // 17286.5 bytes (not 1.729e+04), 1.998 bits, 1300 s
  CHECK_MESSAGE(md.find("| ccq | ccq | 17286 | 1.998 | 1300 | 90.50 ± 0.71 |") != std::string::npos, md);
}

TEST_CASE("csv escapes separators and quotes") {
  ResultsTable t;
  t.param_columns = {"note"};
  t.runs = {run("a,b", {{"note", "say \"hi\""}}, 1, 1.0, 0, 1)};
  const std::string csv = render_csv(t);
  CHECK(csv.find("\"a,b\",\"say \"\"hi\"\"\"") != std::string::npos);
}

TEST_CASE("write_results writes the three files") {
  const std::string dir = temp_dir("results");
  write_results(dir, sample_table());
  CHECK(slurp(dir + "/table.md") == render_markdown(sample_table()));
  CHECK(slurp(dir + "/table.csv") == render_csv(sample_table()));
  CHECK(nlohmann::json::parse(slurp(dir + "/results.json")) == render_json(sample_table()));
  std::filesystem::remove_all(dir);
}

TEST_CASE("gnuplot script and data") {
  PlotSpec spec;
  spec.title = "acc vs bits";
  spec.xlabel = "bits";
  spec.ylabel = "acc";
  spec.xtics = {"W1A1", "W2A2"};
  spec.series = {{"dorefa", {0, 1}, {80.0, 88.5}, {0.5, 0.25}}, {"lsq", {0, 1}, {81.0, 89.0}, {}}};
  const std::string d = render_gnuplot_data(spec);
  CHECK(d == "# dorefa\n0 80 0.5\n1 88.5 0.25\n\n\n# lsq\n0 81 0\n1 89 0\n");
  const std::string g = render_gnuplot_script(spec, "x.dat", "out");
  CHECK(g.find("set xtics (\"W1A1\" 0, \"W2A2\" 1)") != std::string::npos);
  CHECK(g.find("index 1 using 1:2:3") != std::string::npos);
  CHECK(g.find("set output \"out.svg\"") != std::string::npos);
  spec.series[0].err = {1.0};
  CHECK_THROWS_AS(render_gnuplot_data(spec), lowbit::Error);
}

TEST_CASE("write_plot renders SVG and PNG with gnuplot") {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    MESSAGE("gnuplot not installed (scripts/setup.sh installs gnuplot-nox): skipped");
    return;
  }
  PlotSpec spec;
  spec.title = "t";
  spec.series = {{"s", {1, 2, 4}, {80, 85, 90}, {1, 1, 1}}};
  const std::string dir = temp_dir("plot");
  std::string why;
  REQUIRE_MESSAGE(write_plot(dir, "plot", spec, &why), why);
  CHECK(slurp(dir + "/plot.svg").find("<svg") != std::string::npos);
  CHECK(slurp(dir + "/plot.png").substr(1, 3) == "PNG");
  CHECK(std::filesystem::exists(dir + "/plot.gp"));
  CHECK_FALSE(std::filesystem::exists(dir + "/plot.tmp-render.svg"));
  std::filesystem::remove_all(dir);
}
