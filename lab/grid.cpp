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
#include "quant/methods/method.h"
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

// The recipe `merged` with the fields of j (at `where`: "base", "teachers[0].recipe") laid over it.
nn::TrainConfig read_recipe(const Reader& r, const json& j, const std::string& where, json merged) {
  r.object(j, where);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string path = where + "." + it.key();
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
    r.fail(where, fmt::format("is not a valid training recipe: {}", e.what()));
  }
  return c;
}

nn::TrainConfig read_base(const Reader& r, const json& j) { return read_recipe(r, j, "base", nn::TrainConfig{}.to_json()); }

GridTeacher read_teacher(const Reader& r, const json& j, const std::string& path, const nn::TrainConfig& base) {
  r.object(j, path);
  r.only_keys(j, path, {"id", "model", "dataset", "epochs", "train_subset", "recipe", "est_seconds"});
  GridTeacher t;
  t.id = r.string(j, path, "id");
  r.check(file_name_safe(t.id), path + ".id", fmt::format("'{}' must use only letters, digits, '_' and '-'", t.id));
  t.model = r.string(j, path, "model");
  t.dataset = r.string(j, path, "dataset");
  t.epochs = static_cast<int>(r.integer(j, path, "epochs", 1));
  r.check(t.epochs <= 100000, path + ".epochs", fmt::format("must be ≤ 100000 (got {})", t.epochs));
  t.train_subset = r.integer_or(j, path, "train_subset", 0, 0);
  if (j.contains("recipe")) {
    read_recipe(r, j.at("recipe"), path + ".recipe", base.to_json());  // checked here, merged per run
    t.recipe = j.at("recipe");
  }
  t.est_seconds = j.contains("est_seconds") ? r.number(j, path, "est_seconds") : 0.0;
  r.check(t.est_seconds >= 0, path + ".est_seconds", "must be ≥ 0");
  return t;
}

// A claim of the file (cells named by id) as the table's Claim (rows named by label).
Claim read_claim(const Reader& r, const json& j, const std::string& path, const Grid& g) {
  r.object(j, path);
  r.only_keys(j, path, {"id", "text", "source", "rule", "margin", "tolerance", "pairs", "cell", "threshold", "at_most"});
  Claim c;
  c.id = r.string(j, path, "id");
  r.check(file_name_safe(c.id), path + ".id", fmt::format("'{}' must use only letters, digits, '_' and '-'", c.id));
  c.text = r.string(j, path, "text");
  c.source = r.string_or(j, path, "source", "");
  const std::string rule = r.string(j, path, "rule");
  // A row of the table by the file's name for it: a cell id, or teacher:<id> where teachers are allowed.
  auto row = [&](const std::string& name, const std::string& where, bool teacher_ok) -> std::string {
    if (teacher_ok && name.rfind(kTeacherRowPrefix, 0) == 0) {
      const std::string tid = name.substr(std::string(kTeacherRowPrefix).size());
      r.check(find_teacher(g, tid) != nullptr, where, fmt::format("'{}' names no teacher of this grid", name));
      return name;
    }
    const auto cell = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& x) { return x.id == name; });
    r.check(cell != g.cells.end(), where,
            fmt::format("'{}' is not a cell id of this grid{}", name, teacher_ok ? " (nor teacher:<id>)" : ""));
    return cell->label;
  };
  auto non_negative = [&](const char* key) {
    const double v = j.contains(key) ? r.number(j, path, key) : 0.0;
    r.check(v >= 0, path + "." + key, fmt::format("must be ≥ 0 (got {:g})", v));
    return v;
  };
  if (rule == "threshold") {
    c.rule = ClaimRule::threshold;
    r.only_keys(j, path, {"id", "text", "source", "rule", "cell", "threshold", "at_most"});
    c.cell = row(r.string(j, path, "cell"), path + ".cell", true);
    c.threshold = r.number(j, path, "threshold");
    if (j.contains("at_most")) {
      r.check(j["at_most"].is_boolean(), path + ".at_most", "must be true or false");
      c.at_most = j["at_most"].get<bool>();
    }
    return c;
  }
  r.check(rule == "better" || rule == "not_worse", path + ".rule",
          fmt::format("'{}' is not a rule (better, not_worse, threshold)", rule));
  c.rule = rule == "better" ? ClaimRule::better : ClaimRule::not_worse;
  r.only_keys(j, path, {"id", "text", "source", "rule", rule == "better" ? "margin" : "tolerance", "pairs"});
  c.margin = non_negative("margin");
  c.tolerance = non_negative("tolerance");
  const json& pairs = r.required(j, path, "pairs");
  r.check(pairs.is_array() && !pairs.empty(), path + ".pairs", "must be a non-empty array of pairs");
  for (size_t k = 0; k < pairs.size(); ++k) {
    const std::string pp = fmt::format("{}.pairs[{}]", path, k);
    r.object(pairs[k], pp);
    r.only_keys(pairs[k], pp, {"method", "baseline", "nearest", "by"});
    ClaimPair p;
    p.method = row(r.string(pairs[k], pp, "method"), pp + ".method", false);
    r.check(pairs[k].contains("baseline") != pairs[k].contains("nearest"), pp,
            "needs either \"baseline\" (a cell id or teacher:<id>) or \"nearest\" (cell ids) with \"by\"");
    if (pairs[k].contains("baseline")) {
      r.check(!pairs[k].contains("by"), pp + ".by", "goes with \"nearest\", not with \"baseline\"");
      p.baseline = row(r.string(pairs[k], pp, "baseline"), pp + ".baseline", true);
      r.check(p.baseline != p.method, pp + ".baseline", "is the method's own cell");
    } else {
      const std::vector<std::string> ids = r.strings(pairs[k], pp, "nearest");
      r.check(!ids.empty(), pp + ".nearest", "must list at least one cell id");
      for (size_t n = 0; n < ids.size(); ++n) {
        p.nearest.push_back(row(ids[n], fmt::format("{}.nearest[{}]", pp, n), false));
        r.check(p.nearest.back() != p.method, fmt::format("{}.nearest[{}]", pp, n), "is the method's own cell");
      }
      p.by = r.string(pairs[k], pp, "by");
    }
    c.pairs.push_back(std::move(p));
  }
  return c;
}

GridCell read_cell(const Reader& r, const json& j, const std::string& path) {
  r.object(j, path);
  r.only_keys(j, path, {"id", "label", "model", "dataset", "method_label", "precision_label", "precision", "method",
                        "teacher", "epochs", "train_subset", "init_from", "est_seconds"});
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
    const std::string name = r.string(m, path + ".method", "name");
    r.check(!m.contains("teacher"), path + ".method.teacher",
            "is set by the runner from the cell's \"teacher\" (a teachers[].id), not in the method object");
    json settings = m;
    settings.erase("name");
    try {
      quant::make_method(name, settings);  // unknown methods and bad settings fail when the grid loads
    } catch (const Error& e) {
      r.fail(path + ".method", e.what());
    }
    c.method = m;
  }
  c.teacher = r.string_or(j, path, "teacher", "");
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
  r.only_keys(j, "", {"name", "variant", "title", "base", "seeds", "teachers", "cells", "claims", "notes",
                      "notes_file", "precision_order", "figures", "metric_columns"});
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

  if (j.contains("teachers")) {
    const json& ts = j.at("teachers");
    r.check(ts.is_array(), "teachers", "must be an array of teachers");
    for (size_t i = 0; i < ts.size(); ++i)
      g.teachers.push_back(read_teacher(r, ts[i], fmt::format("teachers[{}]", i), g.base));
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
  g.figures = j.contains("figures") ? r.strings(j, "", "figures") : std::vector<std::string>{"accuracy_vs_bits"};
  if (j.contains("metric_columns")) g.metric_columns = r.strings(j, "", "metric_columns");
  validate_grid(g);  // the cells first: the claims name them
  if (j.contains("claims")) {
    const json& claims = j.at("claims");
    r.check(claims.is_array(), "claims", "must be an array");
    for (size_t i = 0; i < claims.size(); ++i) g.claims.push_back(read_claim(r, claims[i], fmt::format("claims[{}]", i), g));
    validate_grid(g);  // claim ids unique
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
  json teachers = json::array();
  for (const GridTeacher& t : g.teachers)
    teachers.push_back({{"id", t.id},         {"model", t.model},   {"dataset", t.dataset},
                        {"epochs", t.epochs}, {"train_subset", t.train_subset}, {"recipe", t.recipe},
                        {"est_seconds", t.est_seconds}});
  // Rows are labels in the Grid, ids in the file.
  auto id_of = [&](const std::string& label) {
    const auto cell = std::find_if(g.cells.begin(), g.cells.end(), [&](const GridCell& c) { return c.label == label; });
    return cell == g.cells.end() ? label : cell->id;
  };
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
    if (!c.teacher.empty()) cell["teacher"] = c.teacher;
    cells.push_back(std::move(cell));
  }
  json base = g.base.to_json();
  for (const char* k : kPerRunKeys) base.erase(k);
  json claims = json::array();
  for (const Claim& cl : g.claims) {
    json c = {{"id", cl.id}, {"text", cl.text}, {"source", cl.source}, {"rule", claim_rule_name(cl.rule)}};
    if (cl.rule == ClaimRule::threshold) {
      c["cell"] = id_of(cl.cell);
      c["threshold"] = cl.threshold;
      c["at_most"] = cl.at_most;
    } else {
      if (cl.rule == ClaimRule::better) c["margin"] = cl.margin;
      else c["tolerance"] = cl.tolerance;
      json pairs = json::array();
      for (const ClaimPair& p : cl.pairs) {
        json pj = {{"method", id_of(p.method)}};
        if (p.nearest.empty()) {
          pj["baseline"] = id_of(p.baseline);
        } else {
          pj["nearest"] = json::array();
          for (const std::string& n : p.nearest) pj["nearest"].push_back(id_of(n));
          pj["by"] = p.by;
        }
        pairs.push_back(std::move(pj));
      }
      c["pairs"] = pairs;
    }
    claims.push_back(std::move(c));
  }
  return {{"name", g.name},         {"variant", g.variant},   {"title", g.title},
          {"base", base},           {"seeds", g.seeds},       {"teachers", teachers},
          {"cells", cells},         {"claims", claims},       {"notes", g.notes},
          {"precision_order", g.precision_order}, {"figures", g.figures}, {"metric_columns", g.metric_columns}};
}

void validate_grid(const Grid& g) {
  const Reader r(g.source.empty() ? "grid '" + g.name + "'" : g.source);
  r.check(!g.cells.empty(), "cells", "must not be empty");
  r.check(!g.seeds.empty(), "seeds", "must not be empty");
  for (size_t i = 0; i < g.seeds.size(); ++i)
    r.check(std::find(g.seeds.begin(), g.seeds.begin() + static_cast<std::ptrdiff_t>(i), g.seeds[i]) ==
                g.seeds.begin() + static_cast<std::ptrdiff_t>(i),
            fmt::format("seeds[{}]", i), fmt::format("repeats seed {}", g.seeds[i]));
  std::set<std::string> teacher_ids;
  for (size_t i = 0; i < g.teachers.size(); ++i) {
    const GridTeacher& t = g.teachers[i];
    const std::string path = fmt::format("teachers[{}]", i);
    r.check(file_name_safe(t.id), path + ".id",
            fmt::format("'{}' must be non-empty and use only letters, digits, '_' and '-'", t.id));
    r.check(teacher_ids.insert(t.id).second, path + ".id", fmt::format("'{}' is used twice", t.id));
    r.check(t.epochs >= 1, path + ".epochs", fmt::format("must be ≥ 1 (got {})", t.epochs));
    try {
      nn::dataset_info(t.dataset);
    } catch (const Error& e) {
      r.fail(path + ".dataset", e.what());
    }
  }
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
    const GridTeacher* teacher = c.teacher.empty() ? nullptr : find_teacher(g, c.teacher);
    r.check(c.teacher.empty() || teacher, path + ".teacher",
            fmt::format("'{}' is not a teachers[].id of this grid", c.teacher));
    const bool method_needs_teacher =
        c.method.is_object() && c.method.contains("name") && c.method["name"].is_string() &&
        std::any_of(quant::method_table().begin(), quant::method_table().end(), [&](const quant::MethodRow& m) {
          return m.name == c.method["name"].get<std::string>() && m.needs_teacher;
        });
    const bool init_teacher = c.init_from == kInitFromTeacher;
    if (method_needs_teacher || init_teacher)
      r.check(teacher != nullptr, path + ".teacher",
              fmt::format("is missing: cell '{}' {}", c.id,
                          init_teacher ? "starts from its teacher (init_from \"teacher\")"
                                       : fmt::format("uses method '{}', which needs a teacher",
                                                     c.method["name"].get<std::string>())));
    else
      r.check(teacher == nullptr, path + ".teacher",
              fmt::format("'{}' is named, but cell '{}' neither uses a method that needs a teacher nor starts from it "
                          "(init_from \"teacher\")",
                          c.teacher, c.id));
    if (teacher) {
      r.check(teacher->dataset == c.dataset, path + ".teacher",
              fmt::format("'{}' is trained on {}, cell '{}' on {}", teacher->id, teacher->dataset, c.id, c.dataset));
      r.check(!init_teacher || teacher->model == c.model, path + ".init_from",
              fmt::format("\"teacher\": teacher '{}' is a {}, cell '{}' a {}", teacher->id, teacher->model, c.id, c.model));
    }
    if (!c.init_from.empty() && !init_teacher) {
      const auto it = std::find_if(g.cells.begin(), g.cells.begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const GridCell& o) { return o.id == c.init_from; });
      r.check(it != g.cells.begin() + static_cast<std::ptrdiff_t>(i), path + ".init_from",
              fmt::format("'{}' (cell '{}') is not an earlier cell", c.init_from, c.id));
      r.check(it->model == c.model && it->dataset == c.dataset, path + ".init_from",
              fmt::format("'{}' ({} on {}) is another model or data set than cell '{}' ({} on {})", it->id, it->model,
                          it->dataset, c.id, c.model, c.dataset));
    }
  }
  std::set<std::string> claim_ids;
  for (size_t i = 0; i < g.claims.size(); ++i) {
    const Claim& cl = g.claims[i];
    const std::string path = fmt::format("claims[{}]", i);
    r.check(claim_ids.insert(cl.id).second, path + ".id", fmt::format("'{}' is used twice", cl.id));
    auto known = [&](const std::string& row) {
      return labels.count(row) > 0 ||
             (row.rfind(kTeacherRowPrefix, 0) == 0 &&
              teacher_ids.count(row.substr(std::string(kTeacherRowPrefix).size())) > 0);
    };
    if (cl.rule == ClaimRule::threshold) {
      r.check(known(cl.cell), path + ".cell", fmt::format("'{}' is not a row of this grid", cl.cell));
      continue;
    }
    r.check(!cl.pairs.empty(), path + ".pairs", "must not be empty");
    for (size_t k = 0; k < cl.pairs.size(); ++k) {
      const ClaimPair& p = cl.pairs[k];
      r.check(labels.count(p.method) > 0, fmt::format("{}.pairs[{}].method", path, k),
              fmt::format("'{}' is not a cell of this grid", p.method));
      r.check(p.nearest.empty() ? known(p.baseline) : !p.by.empty(), fmt::format("{}.pairs[{}]", path, k),
              "needs a baseline row of this grid, or nearest cells and a metric (by)");
      for (const std::string& n : p.nearest)
        r.check(labels.count(n) > 0, fmt::format("{}.pairs[{}].nearest", path, k),
                fmt::format("'{}' is not a cell of this grid", n));
    }
  }
  for (size_t i = 0; i < g.figures.size(); ++i)
    r.check(std::find(figure_kinds().begin(), figure_kinds().end(), g.figures[i]) != figure_kinds().end(),
            fmt::format("figures[{}]", i),
            fmt::format("'{}' is not a figure kind (accuracy_vs_bits, accuracy_vs_size, accuracy_vs_bitops, layer_bits)",
                        g.figures[i]));
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

nn::TrainConfig teacher_config(const Grid& g, const GridTeacher& t, uint64_t seed) {
  json merged = g.base.to_json();
  for (auto it = t.recipe.begin(); it != t.recipe.end(); ++it) merged[it.key()] = it.value();
  nn::TrainConfig cfg = nn::TrainConfig::from_json(merged);
  cfg.model = t.model;
  cfg.dataset = t.dataset;
  cfg.epochs = t.epochs;
  cfg.seed = seed;
  return cfg;
}

std::string run_name(const GridCell& c, uint64_t seed) { return fmt::format("{}_seed{}", c.id, seed); }
std::string run_name(const GridTeacher& t, uint64_t seed) { return fmt::format("{}_seed{}", t.id, seed); }

const GridTeacher* find_teacher(const Grid& g, const std::string& id) {
  const auto it = std::find_if(g.teachers.begin(), g.teachers.end(), [&](const GridTeacher& t) { return t.id == id; });
  return it == g.teachers.end() ? nullptr : &*it;
}

const std::vector<std::string>& figure_kinds() {
  static const std::vector<std::string> kinds = {"accuracy_vs_bits", "accuracy_vs_size", "accuracy_vs_bitops",
                                                 "layer_bits"};
  return kinds;
}

double estimated_seconds(const Grid& g) {
  double s = 0.0;
  for (const GridCell& c : g.cells) s += c.est_seconds;
  for (const GridTeacher& t : g.teachers) s += t.est_seconds;
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
