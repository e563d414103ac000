#include "lab/grid.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "lab/embedded_grids.h"
#include "nn/data/registry.h"

namespace lowbit::lab {

namespace {

using nlohmann::json;

// Reads typed fields out of JSON objects; every error says "<file>: <path> <what is wrong>".
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    lowbit::detail::throw_error(fmt::format("{}: {} {}", source_, path, what));
  }
  void check(bool ok, const std::string& path, const std::string& what) const {
    if (!ok) fail(path, what);
  }

  void object(const json& j, const std::string& path) const {
    check(j.is_object(), path, fmt::format("must be an object (got {})", j.type_name()));
  }
  // Unknown keys are errors, so a typo cannot pass silently.
  void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> keys) const {
    for (auto it = j.begin(); it != j.end(); ++it)
      check(std::any_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; }),
            join(path, it.key()), "is not a known field");
  }
  const json& required(const json& j, const std::string& path, const char* key) const {
    check(j.contains(key), join(path, key), "is missing");
    return j.at(key);
  }
  std::string string(const json& j, const std::string& path, const char* key, bool allow_empty = false) const {
    const json& v = required(j, path, key);
    check(v.is_string(), join(path, key), fmt::format("must be a string (got {})", v.type_name()));
    check(allow_empty || !v.get<std::string>().empty(), join(path, key), "must not be empty");
    return v.get<std::string>();
  }
  std::string string_or(const json& j, const std::string& path, const char* key, const std::string& dflt) const {
    return j.contains(key) ? string(j, path, key, true) : dflt;
  }
  int64_t integer(const json& j, const std::string& path, const char* key, int64_t lo) const {
    const json& v = required(j, path, key);
    check(v.is_number_integer(), join(path, key), fmt::format("must be an integer (got {})", v.dump()));
    const int64_t x = v.get<int64_t>();
    check(x >= lo, join(path, key), fmt::format("must be ≥ {} (got {})", lo, x));
    return x;
  }
  int64_t integer_or(const json& j, const std::string& path, const char* key, int64_t lo, int64_t dflt) const {
    return j.contains(key) ? integer(j, path, key, lo) : dflt;
  }
  double number(const json& j, const std::string& path, const char* key) const {
    const json& v = required(j, path, key);
    check(v.is_number(), join(path, key), fmt::format("must be a number (got {})", v.dump()));
    return v.get<double>();
  }
  std::vector<std::string> strings(const json& j, const std::string& path, const char* key) const {
    const json& v = required(j, path, key);
    check(v.is_array(), join(path, key), "must be an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) {
      check(v[i].is_string(), fmt::format("{}[{}]", join(path, key), i), "must be a string");
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

bool file_name_safe(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
  });
}

// Keys of TrainConfig that a cell or the runner sets, so the base recipe may not.
const char* const kPerRunKeys[] = {"model", "dataset", "epochs", "seed", "threads"};

nn::TrainConfig read_base(const Reader& r, const json& j) {
  r.object(j, "base");
  json merged = nn::TrainConfig{}.to_json();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string path = "base." + it.key();
    r.check(merged.contains(it.key()), path, "is not a training-config field (nn/train/config.h)");
    r.check(std::none_of(std::begin(kPerRunKeys), std::end(kPerRunKeys), [&](const char* k) { return it.key() == k; }),
            path, "is set per cell or per run, not in the base recipe");
    r.check(it.value().type() == merged[it.key()].type() ||
                (it.value().is_number() && merged[it.key()].is_number() &&
                 (merged[it.key()].is_number_float() || !it.value().is_number_float())),
            path, fmt::format("has the wrong type ({}; expected {})", it.value().type_name(), merged[it.key()].type_name()));
    merged[it.key()] = it.value();
  }
  nn::TrainConfig c = nn::TrainConfig::from_json(merged);
  try {
    c.validate();
  } catch (const Error& e) {
    r.fail("base", fmt::format("is not a valid training recipe: {}", e.what()));
  }
  return c;
}

GridCell read_cell(const Reader& r, const json& j, const std::string& path) {
  r.object(j, path);
  r.only_keys(j, path, {"id", "label", "model", "dataset", "method_label", "precision_label", "precision", "method",
                        "epochs", "train_subset", "init_from", "est_seconds"});
  GridCell c;
  c.id = r.string(j, path, "id");
  r.check(file_name_safe(c.id), path + ".id", fmt::format("'{}' must use only letters, digits, '_' and '-'", c.id));
  c.label = r.string(j, path, "label");
  c.model = r.string(j, path, "model");
  c.dataset = r.string(j, path, "dataset");
  try {
    nn::dataset_info(c.dataset);  // throws listing the known data sets
  } catch (const Error& e) {
    r.fail(path + ".dataset", e.what());
  }
  c.method_label = r.string(j, path, "method_label");
  c.precision_label = r.string(j, path, "precision_label");
  const json& p = r.required(j, path, "precision");
  if (p.is_string()) {
    r.check(p == "fp32", path + ".precision", "must be \"fp32\" or a precision-config object (quant/precision.h)");
  } else {
    r.object(p, path + ".precision");
    try {
      c.quant = quant::QuantSpec{quant::PrecisionConfig::from_json(p, "cell '" + c.id + "'")};
    } catch (const Error& e) {
      r.fail(path + ".precision", fmt::format("is not a valid precision config: {}", e.what()));
    }
  }
  if (j.contains("method")) {
    const json& m = j.at("method");
    r.object(m, path + ".method");
    r.string(m, path + ".method", "name");
    c.method = m;
  }
  c.epochs = static_cast<int>(r.integer(j, path, "epochs", 1));
  r.check(c.epochs <= 100000, path + ".epochs", fmt::format("must be ≤ 100000 (got {})", c.epochs));
  c.train_subset = r.integer_or(j, path, "train_subset", 0, 0);
  c.init_from = r.string_or(j, path, "init_from", "");
  c.est_seconds = j.contains("est_seconds") ? r.number(j, path, "est_seconds") : 0.0;
  r.check(c.est_seconds >= 0, path + ".est_seconds", "must be ≥ 0");
  return c;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  LOWBIT_CHECK(f.good(), "cannot read '{}'", path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

json parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    lowbit::detail::throw_error(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
}

}  // namespace

Grid grid_from_json(const json& j, const std::string& source,
                    const std::function<std::string(const std::string&)>& read_sibling) {
  const Reader r(source);
  r.object(j, "grid");
  r.only_keys(j, "", {"name", "variant", "title", "base", "seeds", "cells", "claims", "notes", "notes_file",
                      "precision_order"});
  Grid g;
  g.source = source;
  g.name = r.string(j, "", "name");
  r.check(file_name_safe(g.name), "name", fmt::format("'{}' must use only letters, digits, '_' and '-'", g.name));
  g.variant = r.string_or(j, "", "variant", "full");
  r.check(file_name_safe(g.variant), "variant", fmt::format("'{}' must use only letters, digits, '_' and '-'", g.variant));
  g.title = r.string(j, "", "title");
  g.base = read_base(r, r.required(j, "", "base"));

  const json& seeds = r.required(j, "", "seeds");
  r.check(seeds.is_array() && !seeds.empty(), "seeds", "must be a non-empty array of non-negative integers");
  for (size_t i = 0; i < seeds.size(); ++i) {
    r.check(seeds[i].is_number_integer() && seeds[i].get<int64_t>() >= 0, fmt::format("seeds[{}]", i),
            fmt::format("must be a non-negative integer (got {})", seeds[i].dump()));
    g.seeds.push_back(seeds[i].get<uint64_t>());
  }

  const json& cells = r.required(j, "", "cells");
  r.check(cells.is_array() && !cells.empty(), "cells", "must be a non-empty array of cells");
  for (size_t i = 0; i < cells.size(); ++i) g.cells.push_back(read_cell(r, cells[i], fmt::format("cells[{}]", i)));

  r.check(!(j.contains("notes") && j.contains("notes_file")), "notes_file", "and notes cannot both be given");
  if (j.contains("notes")) {
    g.notes = r.string(j, "", "notes", true);
  } else if (j.contains("notes_file")) {
    const std::string f = r.string(j, "", "notes_file");
    r.check(f.find('/') == std::string::npos && f.find('\\') == std::string::npos && f != "." && f != "..",
            "notes_file", fmt::format("'{}' must be a file name next to the grid file, without a directory", f));
    try {
      g.notes = read_sibling(f);
    } catch (const Error& e) {
      r.fail("notes_file", e.what());
    }
  }
  g.precision_order = r.strings(j, "", "precision_order");
  validate_grid(g);  // the cells first: the claims name them
  if (j.contains("claims")) {
    const json& claims = j.at("claims");
    r.check(claims.is_array(), "claims", "must be an array");
    for (size_t i = 0; i < claims.size(); ++i) {
      const std::string path = fmt::format("claims[{}]", i);
      r.object(claims[i], path);
      r.only_keys(claims[i], path, {"cell", "threshold", "at_most", "source"});
      const std::string id = r.string(claims[i], path, "cell");
      const auto cell = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return c.id == id; });
      r.check(cell != g.cells.end(), path + ".cell", fmt::format("'{}' is not a cell id of this grid", id));
      Claim c;
      c.cell = cell->label;
      c.threshold = r.number(claims[i], path, "threshold");
      if (claims[i].contains("at_most")) {
        r.check(claims[i]["at_most"].is_boolean(), path + ".at_most", "must be true or false");
        c.at_most = claims[i]["at_most"].get<bool>();
      }
      c.source = r.string_or(claims[i], path, "source", "");
      g.claims.push_back(c);
    }
  }

  return g;
}

Grid load_grid_file(const std::string& path) {
  const std::filesystem::path p(path);
  return grid_from_json(parse_json(read_text(path), path), path, [&](const std::string& name) {
    return read_text((p.parent_path() / name).string());
  });
}

std::vector<std::string> grid_names() {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_grid_files()) {
    const std::string n = f.name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0 && n.find("-quick.json") == std::string::npos)
      names.push_back(n.substr(0, n.size() - 5));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Grid load_named_grid(const std::string& name, bool quick) {
  const std::vector<std::string> names = grid_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known;
    for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
    LOWBIT_CHECK(false, "unknown table '{}' (known tables: {})", name, known);
  }
  const std::string file = name + (quick ? "-quick" : "") + ".json";
  const EmbeddedFile* f = find_embedded_grid_file(file);
  LOWBIT_CHECK(f != nullptr, "table '{}' has no quick variant (lab/grids/{})", name, file);
  const std::string source = "lab/grids/" + file;
  return grid_from_json(parse_json(std::string(f->data, f->size), source), source, [](const std::string& sibling) {
    const EmbeddedFile* s = find_embedded_grid_file(sibling);
    LOWBIT_CHECK(s != nullptr, "'{}' is not a file of lab/grids/", sibling);
    return std::string(s->data, s->size);
  });
}

json grid_to_json(const Grid& g) {
  json cells = json::array();
  for (const GridCell& c : g.cells) {
    json cell = {{"id", c.id},
                 {"label", c.label},
                 {"model", c.model},
                 {"dataset", c.dataset},
                 {"method_label", c.method_label},
                 {"precision_label", c.precision_label},
                 {"precision", c.quant ? c.quant->precision.to_json() : json("fp32")},
                 {"epochs", c.epochs},
                 {"train_subset", c.train_subset},
                 {"init_from", c.init_from},
                 {"est_seconds", c.est_seconds}};
    if (!c.method.is_null()) cell["method"] = c.method;
    cells.push_back(std::move(cell));
  }
  json base = g.base.to_json();
  for (const char* k : kPerRunKeys) base.erase(k);
  json claims = json::array();
  for (const Claim& cl : g.claims) {
    const auto cell = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return c.label == cl.cell; });
    claims.push_back({{"cell", cell == g.cells.end() ? cl.cell : cell->id},
                      {"threshold", cl.threshold},
                      {"at_most", cl.at_most},
                      {"source", cl.source}});
  }
  return {{"name", g.name},   {"variant", g.variant}, {"title", g.title},   {"base", base},
          {"seeds", g.seeds}, {"cells", cells},       {"claims", claims},   {"notes", g.notes},
          {"precision_order", g.precision_order}};
}

void validate_grid(const Grid& g) {
  const Reader r(g.source.empty() ? "grid '" + g.name + "'" : g.source);
  r.check(!g.cells.empty(), "cells", "must not be empty");
  r.check(!g.seeds.empty(), "seeds", "must not be empty");
  for (size_t i = 0; i < g.seeds.size(); ++i)
    r.check(std::find(g.seeds.begin(), g.seeds.begin() + static_cast<std::ptrdiff_t>(i), g.seeds[i]) ==
                g.seeds.begin() + static_cast<std::ptrdiff_t>(i),
            fmt::format("seeds[{}]", i), fmt::format("repeats seed {}", g.seeds[i]));
  std::set<std::string> ids, labels;
  for (size_t i = 0; i < g.cells.size(); ++i) {
    const GridCell& c = g.cells[i];
    const std::string path = fmt::format("cells[{}]", i);
    r.check(file_name_safe(c.id), path + ".id",
            fmt::format("'{}' must be non-empty and use only letters, digits, '_' and '-'", c.id));
    r.check(ids.insert(c.id).second, path + ".id", fmt::format("'{}' is used twice", c.id));
    r.check(labels.insert(c.label).second, path + ".label", fmt::format("'{}' is used twice", c.label));
    r.check(c.epochs >= 1, path + ".epochs", fmt::format("must be ≥ 1 (got {})", c.epochs));
    r.check(c.train_subset >= 0, path + ".train_subset", fmt::format("must be ≥ 0 (got {})", c.train_subset));
    try {
      nn::dataset_info(c.dataset);
    } catch (const Error& e) {
      r.fail(path + ".dataset", e.what());
    }
    if (c.quant) {
      try {
        c.quant->precision.validate_all(fmt::format("cell '{}'", c.id));
      } catch (const Error& e) {
        r.fail(path + ".precision", fmt::format("is not a valid precision config: {}", e.what()));
      }
    }
    if (!c.init_from.empty()) {
      const auto it = std::find_if(g.cells.begin(), g.cells.begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const GridCell& o) { return o.id == c.init_from; });
      r.check(it != g.cells.begin() + static_cast<std::ptrdiff_t>(i), path + ".init_from",
              fmt::format("'{}' (cell '{}') is not an earlier cell", c.init_from, c.id));
      r.check(it->model == c.model && it->dataset == c.dataset, path + ".init_from",
              fmt::format("'{}' ({} on {}) is another model or data set than cell '{}' ({} on {})", it->id, it->model,
                          it->dataset, c.id, c.model, c.dataset));
    }
  }
  for (size_t i = 0; i < g.claims.size(); ++i)
    r.check(labels.count(g.claims[i].cell) > 0, fmt::format("claims[{}].cell", i),
            fmt::format("'{}' is not a cell of this grid", g.claims[i].cell));
  for (size_t i = 0; i < g.precision_order.size(); ++i)
    r.check(std::find(g.precision_order.begin(), g.precision_order.begin() + static_cast<std::ptrdiff_t>(i),
                      g.precision_order[i]) == g.precision_order.begin() + static_cast<std::ptrdiff_t>(i),
            fmt::format("precision_order[{}]", i), fmt::format("repeats '{}'", g.precision_order[i]));
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
                 "'{}' is not a comma-separated list of seeds (non-negative integers, e.g. 1,2,3)", text);
    const uint64_t s = std::stoull(item);
    LOWBIT_CHECK(std::find(seeds.begin(), seeds.end(), s) == seeds.end(), "seed {} is listed twice", s);
    seeds.push_back(s);
    i = j + 1;
  }
  return seeds;
}

}  // namespace lowbit::lab
