// The experiment grids of `lowbit reproduce` as data: the baselines grid holds every cell issue 4 lists (by
// model/data set, method, bits and first/last policy), quantized cells start from the same group's fp32 cell,
// seeds and epochs are wired, the time estimates fit the budget, and malformed grids and --seeds are refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "engine/error.h"
#include "lab/grid.h"

using namespace lowbit::lab;

namespace {
const GridCell* find_cell(const Grid& g, const std::string& model, const std::string& dataset, const std::string& scheme,
                          int wbits, int abits, const std::string& first_last) {
  for (const GridCell& c : g.cells)
    if (c.model == model && c.dataset == dataset && c.quant &&
        c.quant->precision.defaults == lowbit::quant::Precision{wbits, abits, lowbit::quant::parse_scheme(scheme)} &&
        c.quant->precision.first_last == lowbit::quant::parse_edge_policy(first_last))
      return &c;
  return nullptr;
}

const GridCell* find_fp32(const Grid& g, const std::string& model, const std::string& dataset) {
  for (const GridCell& c : g.cells)
    if (c.model == model && c.dataset == dataset && !c.quant) return &c;
  return nullptr;
}

// Issue 4, item 5: W1A1 with BNN, XNOR and DoReFa; DoReFa W1A2, W2A2, W4A4; TWN with 2-bit and fp32 activations;
// LSQ and PACT at W2A2 and W4A4 (first/last fp32); and first/last quantized.
const std::tuple<const char*, int, int> kQatCells[] = {
    {"bnn", 1, 1},    {"xnor", 1, 1},   {"dorefa", 1, 1}, {"dorefa", 1, 2}, {"dorefa", 2, 2}, {"dorefa", 4, 4},
    {"twn", 2, 2},    {"twn", 2, 32},   {"lsq", 2, 2},    {"lsq", 4, 4},    {"pact", 2, 2},   {"pact", 4, 4}};

void check_group(const Grid& g, const std::string& model, const std::string& dataset) {
  CAPTURE(model);
  CAPTURE(dataset);
  const GridCell* fp = find_fp32(g, model, dataset);
  REQUIRE(fp != nullptr);
  CHECK(fp->init_from.empty());
  CHECK(fp->precision_label == "fp32");
  for (const auto& [scheme, w, a] : kQatCells) {
    CAPTURE(scheme);
    CAPTURE(w);
    CAPTURE(a);
    const GridCell* c = find_cell(g, model, dataset, scheme, w, a, "fp32");
    REQUIRE(c != nullptr);
    CHECK(c->init_from == fp->id);  // QAT starts from the fp32 model of the same seed
    CHECK(std::find(g.precision_order.begin(), g.precision_order.end(), c->precision_label) != g.precision_order.end());
  }
  // First/last quantized: at least DoReFa W1A1 (the "all-quantized" target cell).
  const GridCell* allq = find_cell(g, model, dataset, "dorefa", 1, 1, "q");
  REQUIRE(allq != nullptr);
  CHECK(allq->init_from == fp->id);
  CHECK(allq->label != find_cell(g, model, dataset, "dorefa", 1, 1, "fp32")->label);
}
}  // namespace

TEST_CASE("reproduce grid: baselines has every cell of issue 4 for LeNet-5 MNIST/FMNIST and ResNet-20 FMNIST") {
  const Grid g = load_named_grid("baselines", false);
  validate_grid(g);
  CHECK(g.name == "baselines");
  CHECK(g.variant == "full");
  CHECK(g.seeds == std::vector<uint64_t>{1, 2, 3});
  check_group(g, "lenet5", "mnist");
  check_group(g, "lenet5", "fashion-mnist");
  check_group(g, "resnet20", "fashion-mnist");
  CHECK(g.cells.size() == 3 * 16);
  // The recipe of the accuracy records; no claims (the grid's epochs are shorter than the targets' recipe).
  CHECK(g.base.optimizer == "sgd");
  CHECK(g.base.lr == doctest::Approx(0.05));
  CHECK(g.base.schedule == "cosine");
  CHECK(g.claims.empty());
  // About an hour on 2 cores (the estimate of an idle machine).
  CHECK(estimated_seconds(g) > 40 * 60);
  CHECK(estimated_seconds(g) < 65 * 60);
  // ResNet-20 trains on a fixed subset; LeNet-5 on all images; every run's config carries the cell's epochs and seed.
  for (const GridCell& c : g.cells) {
    CAPTURE(c.id);
    CHECK((c.model == "resnet20") == (c.train_subset > 0));
    const lowbit::nn::TrainConfig cfg = run_config(g, c, 3);
    CHECK(cfg.epochs == c.epochs);
    CHECK(cfg.seed == 3);
    CHECK(cfg.model == c.model);
    CHECK(cfg.dataset == c.dataset);
    CHECK(run_name(c, 3) == c.id + "_seed3");
  }
}

TEST_CASE("reproduce grid: the quick variant is LeNet-5 with one seed and one epoch per cell") {
  const Grid g = load_named_grid("baselines", true);
  validate_grid(g);
  CHECK(g.variant == "quick");
  CHECK(g.seeds == std::vector<uint64_t>{1});
  check_group(g, "lenet5", "mnist");
  check_group(g, "lenet5", "fashion-mnist");
  for (const GridCell& c : g.cells) {
    CHECK(c.model == "lenet5");
    CHECK(c.epochs == 1);
  }
  CHECK(estimated_seconds(g) > 90);
  CHECK(estimated_seconds(g) < 4 * 60);
}

TEST_CASE("reproduce grid: unknown tables and malformed grids are refused") {
  CHECK(grid_names() == (std::vector<std::string>{"baselines", "dcq"}));
  CHECK_THROWS_WITH_AS(load_named_grid("nosuch", false), doctest::Contains("unknown table 'nosuch' (known tables: baselines, dcq)"),
                       lowbit::Error);
  const Grid good = load_named_grid("baselines", true);
  Grid g = good;
  g.cells[2].id = g.cells[1].id;
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains("is used twice"), lowbit::Error);
  g = good;
  g.cells[0].init_from = g.cells[1].id;  // a later cell
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains("not an earlier cell"), lowbit::Error);
  g = good;
  g.cells[1].quant->precision.defaults.wbits = 3;  // BNN is 1-bit only
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains(g.cells[1].id.c_str()), lowbit::Error);
  g = good;
  g.cells[1].id = "has space";
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains("letters, digits"), lowbit::Error);
  g = good;
  g.cells[1].epochs = 0;
  CHECK_THROWS_AS(validate_grid(g), lowbit::Error);
  g = good;
  g.seeds.clear();
  CHECK_THROWS_WITH_AS(validate_grid(g), doctest::Contains("seeds must not be empty"), lowbit::Error);
  // A quantized cell initialised from another model's fp32 cell.
  Grid full = load_named_grid("baselines", false);
  auto r20 = std::find_if(full.cells.begin(), full.cells.end(), [](const GridCell& c) { return c.model == "resnet20" && c.quant.has_value(); });
  REQUIRE(r20 != full.cells.end());
  r20->init_from = full.cells[0].id;
  CHECK_THROWS_WITH_AS(validate_grid(full), doctest::Contains("is another model or data set"), lowbit::Error);
}

TEST_CASE("reproduce grid: seeds parsing (--seeds)") {
  CHECK(parse_seeds("1,2,3") == std::vector<uint64_t>{1, 2, 3});
  CHECK(parse_seeds(" 7 , 11") == std::vector<uint64_t>{7, 11});
  CHECK(parse_seeds("42") == std::vector<uint64_t>{42});
  for (const char* bad : {"", "1,,2", "a", "1;2", "-1", "1,2,"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_seeds(bad), doctest::Contains("is not a comma-separated list of seeds"), lowbit::Error);
  }
  CHECK_THROWS_WITH_AS(parse_seeds("1,2,1"), doctest::Contains("listed twice"), lowbit::Error);
}
