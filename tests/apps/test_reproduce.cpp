// The grid runner on a tiny in-memory data set (a few seconds): every cell × seed is trained once into its run
// directory, results.json / table.md / table.csv / the figure are written and parse, a re-run reuses finished
// runs, a deleted run is redone identically, an interrupted run continues from its checkpoint, another
// configuration in the same directory is refused. And the CLI: unknown table, bad --seeds, --dry-run, --grid FILE,
// missing data.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "lab/grid.h"
#include "lab/grid_report.h"
#include "lab/runner.h"
#include "../support/cli_runner.h"

namespace fs = std::filesystem;
using namespace lowbit::lab;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

fs::path scratch(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_reproduce_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

// 28×28 one-channel images; class k has a bright band at rows 2k..2k+3 plus a little deterministic texture.
lowbit::nn::ImageDataset tiny_images(const std::string& name, int n, int salt) {
  lowbit::nn::ImageDataset d;
  d.name = name;
  d.n = n;
  d.c = 1;
  d.h = d.w = 28;
  d.num_classes = 10;
  for (int i = 0; i < n; ++i) {
    const int k = (i * 3 + salt) % 10;
    d.labels.push_back(k);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        d.pixels.push_back(static_cast<uint8_t>(y >= 2 * k && y < 2 * k + 4 ? 220 : (x * 5 + y * 3 + i) % 50));
  }
  d.compute_checksum();
  return d;
}

// fp32, DoReFa W1A1 on a 48-image subset, BNN with every layer quantized: 3 cells × 2 seeds, 1 epoch each.
Grid tiny_grid() {
  Grid g;
  g.name = "tiny";
  g.variant = "test";
  g.title = "Tiny";
  g.base.batch_size = 32;
  g.base.lr = 0.05f;
  g.seeds = {1, 2};
  g.precision_order = {"W1A1", "fp32"};
  GridCell fp;
  fp.id = "lenet5_mnist_fp32";
  fp.label = "LeNet-5 MNIST: fp32";
  fp.model = "lenet5";
  fp.dataset = "mnist";
  fp.method_label = "fp32";
  fp.precision_label = "fp32";
  fp.epochs = 1;
  fp.est_seconds = 1;
  GridCell dr = fp;
  dr.id = "lenet5_mnist_dorefa_w1a1";
  dr.label = "LeNet-5 MNIST: DoReFa W1A1";
  dr.method_label = "DoReFa";
  dr.precision_label = "W1A1";
  dr.quant = lowbit::quant::QuantSpec{lowbit::quant::PrecisionConfig::uniform(lowbit::quant::Scheme::dorefa, 1, 1)};
  dr.train_subset = 48;
  dr.init_from = fp.id;
  GridCell bnn = dr;
  bnn.id = "lenet5_mnist_bnn_w1a1_allq";
  bnn.label = "LeNet-5 MNIST: BNN W1A1, all layers quantized";
  bnn.method_label = "BNN (all layers)";
  bnn.quant = lowbit::quant::QuantSpec{
      lowbit::quant::PrecisionConfig::uniform(lowbit::quant::Scheme::bnn, 1, 1, lowbit::quant::EdgePolicy::q)};
  bnn.train_subset = 0;
  g.cells = {fp, dr, bnn};
  return g;
}

RunnerOptions tiny_options(const fs::path& out) {
  RunnerOptions o;
  o.out_dir = out.string();
  o.threads = 1;
  o.command_line = "test_reproduce tiny";
  o.log = nullptr;
  o.load_data = [](const std::string& name) {
    REQUIRE(name == "mnist");
    return std::make_pair(tiny_images("mnist/train", 96, 0), tiny_images("mnist/test", 40, 1));
  };
  return o;
}

}  // namespace

TEST_CASE("reproduce runner: trains every cell x seed once and writes the table and a re-run resumes") {
  const fs::path out = scratch("runner");
  const Grid g = tiny_grid();
  const GridOutcome first = run_grid(g, tiny_options(out));
  CHECK(first.trained == 6);
  CHECK(first.reused == 0);
  REQUIRE(first.runs.size() == 6);
  // Seed by seed, cells in grid order.
  CHECK(first.runs[0].cell == "LeNet-5 MNIST: fp32");
  CHECK(first.runs[0].seed == 1);
  CHECK(first.runs[3].seed == 2);
  for (const auto& r : first.runs) {
    CHECK(r.metric >= 0.0);
    CHECK(r.metric <= 100.0);
    CHECK(r.wall_seconds > 0.0);
    CHECK(r.epochs == 1);
  }
  CHECK(first.runs[1].params.at("train images") == "48");
  CHECK(first.runs[2].params.at("train images") == "96");
  CHECK(first.runs[2].params.at("first/last") == "quantized");

  for (const char* f : {"results.json", "table.md", "table.csv", "grid.json", "plot.dat", "plot.gp"})
    CHECK_MESSAGE(fs::exists(out / f), f);
  for (const char* run : {"lenet5_mnist_fp32_seed1", "lenet5_mnist_dorefa_w1a1_seed2", "lenet5_mnist_bnn_w1a1_allq_seed2"})
    CHECK_MESSAGE(fs::exists(out / "runs" / run / "model.lbar"), run);

  const nlohmann::json j = nlohmann::json::parse(read_text(out / "results.json"));
  CHECK(j.at("name") == "tiny");
  REQUIRE(j.at("cells").size() == 3);
  CHECK(j["cells"][1]["values"].size() == 2);
  CHECK(j["cells"][1]["seeds"] == nlohmann::json({1, 2}));
  CHECK(j.at("runs").size() == 6);
  const nlohmann::json& prov = j.at("provenance");
  for (const char* k : {"git_revision", "isa", "threads", "compiler", "command_line", "started_at", "finished_at"})
    CHECK_MESSAGE(prov.contains(k), k);
  CHECK(prov["threads"] == 1);
  CHECK(prov["runs_finished"] == "6 of 6");
  CHECK(prov["datasets"]["mnist"]["train"]["n"] == 96);
  CHECK(prov["datasets"]["mnist"]["test"]["crc32"].get<std::string>().size() == 8);

  // Per-run results name the cell, the quantization, the subset and the test accuracy.
  const nlohmann::json run = nlohmann::json::parse(read_text(out / "runs" / "lenet5_mnist_dorefa_w1a1_seed1" / "results.json"));
  CHECK(run["grid"]["cell"] == "lenet5_mnist_dorefa_w1a1");
  CHECK(run["quant"]["precision"]["scheme"] == "dorefa");
  CHECK(run["train_subset"] == 48);
  CHECK(run["test"]["acc"].get<double>() * 100.0 == doctest::Approx(first.runs[1].metric));

  const std::string csv = read_text(out / "table.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 4);  // header + 3 cells
  CHECK(csv.rfind("cell,model,dataset,method,W,A,first/last,init,train images,n,mean", 0) == 0);
  const std::string md = read_text(out / "table.md");
  CHECK(md.find("| LeNet-5 MNIST: DoReFa W1A1 |") != std::string::npos);
  CHECK(md.find("git_revision") != std::string::npos);

  // The figure: one panel, one series per quantized method, fp32 as the reference line.
  const lowbit::lab::PlotFigure fig = make_figure(g, first.runs);
  REQUIRE(fig.panels.size() == 1);
  REQUIRE(fig.panels[0].series.size() == 2);
  REQUIRE(fig.panels[0].hlines.size() == 1);
  CHECK(fig.panels[0].hlines[0].label == "fp32");
  CHECK(fig.panels[0].series[0].style == 2);
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    CHECK_MESSAGE(first.plotted, first.plot_error);
    CHECK(fs::exists(out / "plot.svg"));
    CHECK(fs::exists(out / "plot.png"));
  }

  // Re-running reuses every finished run.
  const GridOutcome again = run_grid(g, tiny_options(out));
  CHECK(again.trained == 0);
  CHECK(again.reused == 6);
  for (size_t i = 0; i < 6; ++i) CHECK(again.runs[i].metric == first.runs[i].metric);

  // A lost run is redone (same seed and threads: the same number); an interrupted run (checkpoint, no final
  // result) continues from its checkpoint without training its epoch again.
  fs::remove_all(out / "runs" / "lenet5_mnist_dorefa_w1a1_seed2");
  const fs::path interrupted = out / "runs" / "lenet5_mnist_bnn_w1a1_allq_seed1" / "results.json";
  nlohmann::json ir = nlohmann::json::parse(read_text(interrupted));
  ir.erase("test");
  std::ofstream(interrupted) << ir.dump(2);
  const GridOutcome third = run_grid(g, tiny_options(out));
  CHECK(third.trained == 2);
  CHECK(third.reused == 4);
  CHECK(third.runs[4].metric == doctest::Approx(first.runs[4].metric).epsilon(1e-12));
  CHECK(third.runs[2].metric == doctest::Approx(first.runs[2].metric).epsilon(1e-12));
  const std::string metrics = read_text(out / "runs" / "lenet5_mnist_bnn_w1a1_allq_seed1" / "metrics.csv");
  CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 2);  // header + the one epoch, not trained twice
  CHECK(nlohmann::json::parse(read_text(interrupted)).contains("test"));

  // Another recipe or another grid in the same directory is refused, naming the run directory / the grid.
  Grid other = g;
  other.base.lr = 0.01f;
  CHECK_THROWS_WITH_AS(run_grid(other, tiny_options(out)), doctest::Contains("holds a different run"), lowbit::Error);
  other = g;
  other.variant = "full";
  CHECK_THROWS_WITH_AS(run_grid(other, tiny_options(out)), doctest::Contains("choose another output directory"), lowbit::Error);
  fs::remove_all(out);
}

namespace {
struct Cli {
  int status = -1;
  std::string out;
};
Cli lowbit_cli(const std::string& args) {
  const lowbit::test::CliRun c = lowbit::test::run_lowbit(args);
  return {c.status, c.all()};
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("reproduce CLI: unknown table and bad flags and missing data fail and a dry run lists the grid") {
  Cli r = lowbit_cli("reproduce nosuch --dry-run");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "lowbit: error: unknown table 'nosuch' (known tables: baselines"));
  r = lowbit_cli("reproduce");
  CHECK(r.status != 0);
  CHECK(r.status != -1);
  CHECK(contains(r.out, "table"));
  r = lowbit_cli("reproduce baselines --seeds 1,x --dry-run");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "--seeds"));
  r = lowbit_cli("reproduce baselines --threads -3 --dry-run");
  CHECK(r.status != 0);
  CHECK(r.status != -1);
  CHECK(contains(r.out, "--threads"));

  r = lowbit_cli("reproduce baselines --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(contains(r.out, "baselines (full): 48 cells x 3 seeds (1,2,3) = 144 runs"));
  CHECK(contains(r.out, "resnet20_fmnist_pact_w4a4"));
  CHECK(contains(r.out, "lenet5_mnist_dorefa_w1a1_allq"));
  CHECK(contains(r.out, "estimated total"));
  r = lowbit_cli("reproduce baselines --quick --seeds 5,6 --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(contains(r.out, "baselines (quick): 32 cells x 2 seeds (5,6) = 64 runs"));
  // --cells narrows the listing to the matching cells and estimates only them; a glob matching nothing is an error.
  r = lowbit_cli("reproduce baselines --cells 'resnet20_*' --seeds 1 --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(contains(r.out, "resnet20_fmnist_pact_w4a4"));
  CHECK(!contains(r.out, "lenet5_mnist_dorefa_w1a1_allq"));
  CHECK(contains(r.out, "--cells: "));
  CHECK(contains(r.out, "estimated selection total"));
  r = lowbit_cli("reproduce baselines --cells 'nosuch_*' --dry-run");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "--cells: 'nosuch_*' matches no cell of grid 'baselines'"));

  // A grid file of one's own: the built-in quick file gives the built-in quick grid; a bad field is named.
  r = lowbit_cli("reproduce --grid '" + std::string(LOWBIT_SOURCE_DIR) + "/lab/grids/baselines-quick.json' --dry-run");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  CHECK(contains(r.out, "baselines (quick): 32 cells x 1 seed (1) = 32 runs"));
  const fs::path d = scratch("cli");
  fs::create_directories(d);
  nlohmann::json bad = nlohmann::json::parse(read_text(fs::path(LOWBIT_SOURCE_DIR) / "lab" / "grids" / "baselines-quick.json"));
  bad["cells"][3]["epochs"] = 0;
  bad["notes"] = "";
  bad.erase("notes_file");
  std::ofstream(d / "bad.json") << bad.dump();
  r = lowbit_cli("reproduce --grid '" + (d / "bad.json").string() + "' --dry-run");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "bad.json: cells[3].epochs must be ≥ 1 (got 0)"));
  r = lowbit_cli("reproduce baselines --grid '" + (d / "bad.json").string() + "' --dry-run");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "give a table name or --grid FILE (not both)"));

  r = lowbit_cli("reproduce baselines --quick --data-dir '" + (d / "nodata").string() + "' --out '" + (d / "out").string() + "'");
  CHECK(r.status == 1);
  CHECK(contains(r.out, "lowbit: error: data set 'fashion-mnist' (train split): missing files"));
  CHECK(contains(r.out, "bash scripts/setup.sh"));
  CHECK_FALSE(fs::exists(d / "out"));  // nothing is created before the data is there
  fs::remove_all(d);
}
