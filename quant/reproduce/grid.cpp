#include "quant/reproduce/grid.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "engine/error.h"
#include "nn/data/registry.h"
#include "quant/reproduce/baselines.h"

namespace lowbit::quant::reproduce {

std::vector<std::string> grid_names() { return {"baselines"}; }

Grid make_grid(const std::string& name, bool quick) {
  if (name == "baselines") return make_baselines_grid(quick);
  std::string known;
  for (const std::string& n : grid_names()) known += (known.empty() ? "" : ", ") + n;
  LOWBIT_CHECK(false, "unknown table '{}' (known tables: {})", name, known);
  return {};
}

void validate_grid(const Grid& g) {
  LOWBIT_CHECK(!g.cells.empty(), "grid '{}' has no cells", g.name);
  LOWBIT_CHECK(!g.seeds.empty(), "grid '{}' has no seeds", g.name);
  LOWBIT_CHECK(std::set<uint64_t>(g.seeds.begin(), g.seeds.end()).size() == g.seeds.size(),
               "grid '{}': a seed is listed twice", g.name);
  g.base.validate();
  std::set<std::string> ids, labels;
  for (size_t i = 0; i < g.cells.size(); ++i) {
    const GridCell& c = g.cells[i];
    LOWBIT_CHECK(!c.id.empty() && std::all_of(c.id.begin(), c.id.end(),
                                              [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-'; }),
                 "grid '{}': cell id '{}' must be non-empty and use only letters, digits, '_' and '-'", g.name, c.id);
    LOWBIT_CHECK(ids.insert(c.id).second, "grid '{}': cell id '{}' is used twice", g.name, c.id);
    LOWBIT_CHECK(labels.insert(c.label).second, "grid '{}': cell label '{}' is used twice", g.name, c.label);
    LOWBIT_CHECK(c.epochs >= 1, "grid '{}': cell '{}' has {} epochs", g.name, c.id, c.epochs);
    LOWBIT_CHECK(c.train_subset >= 0, "grid '{}': cell '{}' has a negative training subset", g.name, c.id);
    nn::dataset_info(c.dataset);  // throws listing the known data sets
    if (c.quant) c.quant->precision.validate_all(fmt::format("grid '{}': cell '{}'", g.name, c.id));
    if (!c.init_from.empty()) {
      const auto it = std::find_if(g.cells.begin(), g.cells.begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const GridCell& o) { return o.id == c.init_from; });
      LOWBIT_CHECK(it != g.cells.begin() + static_cast<std::ptrdiff_t>(i),
                   "grid '{}': cell '{}' is initialised from '{}', which is not an earlier cell", g.name, c.id,
                   c.init_from);
      LOWBIT_CHECK(it->model == c.model && it->dataset == c.dataset,
                   "grid '{}': cell '{}' ({} on {}) is initialised from '{}' ({} on {})", g.name, c.id, c.model,
                   c.dataset, it->id, it->model, it->dataset);
    }
  }
}

nn::TrainConfig run_config(const Grid& g, const GridCell& c, uint64_t seed) {
  nn::TrainConfig cfg = g.base;
  cfg.model = c.model;
  cfg.dataset = c.dataset;
  cfg.epochs = c.epochs;
  cfg.seed = seed;
  return cfg;
}

std::string run_name(const GridCell& c, uint64_t seed) { return fmt::format("{}_seed{}", c.id, seed); }

double estimated_seconds(const Grid& g) {
  double s = 0.0;
  for (const GridCell& c : g.cells) s += c.est_seconds;
  return s * static_cast<double>(g.seeds.size());
}

std::vector<uint64_t> parse_seeds(const std::string& text) {
  std::vector<uint64_t> seeds;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    LOWBIT_CHECK(!item.empty() && std::all_of(item.begin(), item.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) &&
                     item.size() <= 18,
                 "--seeds: '{}' is not a comma-separated list of non-negative integers (e.g. 1,2,3)", text);
    const uint64_t s = std::stoull(item);
    LOWBIT_CHECK(std::find(seeds.begin(), seeds.end(), s) == seeds.end(), "--seeds: seed {} is listed twice", s);
    seeds.push_back(s);
    i = j + 1;
  }
  return seeds;
}

}  // namespace lowbit::quant::reproduce
