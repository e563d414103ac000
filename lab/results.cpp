#include "lab/results.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/error.h"
#include "nn/archive.h"

namespace lowbit::lab {

namespace {

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string param_or_dash(const CellSummary& c, const std::string& key) {
  auto it = c.params.find(key);
  return it == c.params.end() ? std::string("–") : it->second;
}

}  // namespace

std::vector<CellSummary> summarize(const std::vector<RunResult>& runs) {
  std::vector<CellSummary> cells;
  for (const RunResult& r : runs) {
    auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& c) { return c.cell == r.cell; });
    if (it == cells.end()) {
      cells.push_back(CellSummary{});
      it = cells.end() - 1;
      it->cell = r.cell;
      it->params = r.params;
      it->epochs = r.epochs;
    } else {
      LOWBIT_CHECK(it->params == r.params, "results: runs of cell '{}' have different parameters", r.cell);
    }
    it->seeds.push_back(r.seed);
    it->values.push_back(r.metric);
    it->wall_seconds_total += r.wall_seconds;
  }
  for (CellSummary& c : cells) {
    const double n = static_cast<double>(c.values.size());
    double sum = 0.0;
    for (double v : c.values) sum += v;
    c.mean = sum / n;
    double ss = 0.0;
    for (double v : c.values) ss += (v - c.mean) * (v - c.mean);
    c.stddev = c.values.size() > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
    c.min = *std::min_element(c.values.begin(), c.values.end());
    c.max = *std::max_element(c.values.begin(), c.values.end());
  }
  return cells;
}

std::vector<ClaimOutcome> evaluate_claims(const std::vector<CellSummary>& cells, const std::vector<Claim>& claims) {
  std::vector<ClaimOutcome> out;
  for (const Claim& cl : claims) {
    ClaimOutcome o;
    o.claim = cl;
    auto it = std::find_if(cells.begin(), cells.end(), [&](const CellSummary& c) { return c.cell == cl.cell; });
    if (it != cells.end()) {
      o.evaluated = true;
      o.mean = it->mean;
      o.stddev = it->stddev;
      o.held = cl.at_most ? it->mean <= cl.threshold : it->mean >= cl.threshold;
    }
    out.push_back(o);
  }
  return out;
}

std::string format_mean_std(double mean, double stddev, int decimals) {
  return fmt::format("{:.{}f} ± {:.{}f}", mean, decimals, stddev, decimals);
}

std::string render_markdown(const ResultsTable& t) {
  const std::vector<CellSummary> cells = summarize(t.runs);
  std::string md = fmt::format("# {}\n\n", t.title.empty() ? t.name : t.title);
  md += "| cell |";
  std::string rule = "|---|";
  for (const std::string& p : t.param_columns) {
    md += fmt::format(" {} |", md_escape(p));
    rule += "---|";
  }
  md += fmt::format(" {} (mean ± std) | seeds | epochs | wall time (s) |\n", md_escape(t.metric_name));
  md += rule + "---|---|---|---|\n";
  for (const CellSummary& c : cells) {
    md += fmt::format("| {} |", md_escape(c.cell));
    for (const std::string& p : t.param_columns) md += fmt::format(" {} |", md_escape(param_or_dash(c, p)));
    md += fmt::format(" {} | {} | {} | {:.0f} |\n", format_mean_std(c.mean, c.stddev), c.values.size(), c.epochs,
                      c.wall_seconds_total);
  }
  const std::vector<ClaimOutcome> outcomes = evaluate_claims(cells, t.claims);
  if (!outcomes.empty()) {
    md += "\n## Claims under test\n\n| cell | claim | measured | held? | source |\n|---|---|---|---|---|\n";
    for (const ClaimOutcome& o : outcomes) {
      const std::string claim = fmt::format("{} {:.2f}", o.claim.at_most ? "≤" : "≥", o.claim.threshold);
      const std::string measured = o.evaluated ? format_mean_std(o.mean, o.stddev) : "not run";
      const std::string held = !o.evaluated ? "–" : (o.held ? "held" : "did not hold");
      md += fmt::format("| {} | {} | {} | {} | {} |\n", md_escape(o.claim.cell), claim, measured, held,
                        md_escape(o.claim.source));
    }
  }
  if (!t.provenance.is_null()) {
    md += "\n## Provenance\n\n";
    for (auto it = t.provenance.begin(); it != t.provenance.end(); ++it)
      md += fmt::format("- {}: {}\n", it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  if (!t.notes.empty()) md += "\n" + t.notes + (t.notes.back() == '\n' ? "" : "\n");
  return md;
}

std::string render_csv(const ResultsTable& t) {
  std::string csv = "cell";
  for (const std::string& p : t.param_columns) csv += "," + csv_escape(p);
  csv += ",n,mean,std,min,max,epochs,wall_seconds\n";
  for (const CellSummary& c : summarize(t.runs)) {
    csv += csv_escape(c.cell);
    for (const std::string& p : t.param_columns) csv += "," + csv_escape(param_or_dash(c, p));
    csv += fmt::format(",{},{:.4f},{:.4f},{:.4f},{:.4f},{},{:.1f}\n", c.values.size(), c.mean, c.stddev, c.min, c.max,
                       c.epochs, c.wall_seconds_total);
  }
  return csv;
}

nlohmann::json render_json(const ResultsTable& t) {
  using nlohmann::json;
  const std::vector<CellSummary> cells = summarize(t.runs);
  json j;
  j["name"] = t.name;
  j["title"] = t.title;
  j["metric"] = t.metric_name;
  j["provenance"] = t.provenance;
  j["runs"] = json::array();
  for (const RunResult& r : t.runs)
    j["runs"].push_back({{"cell", r.cell}, {"params", r.params}, {"seed", r.seed}, {"metric", r.metric},
                         {"wall_seconds", r.wall_seconds}, {"epochs", r.epochs}});
  j["cells"] = json::array();
  for (const CellSummary& c : cells)
    j["cells"].push_back({{"cell", c.cell}, {"params", c.params}, {"seeds", c.seeds}, {"values", c.values},
                          {"mean", c.mean}, {"std", c.stddev}, {"min", c.min}, {"max", c.max},
                          {"epochs", c.epochs}, {"wall_seconds_total", c.wall_seconds_total}});
  j["claims"] = json::array();
  for (const ClaimOutcome& o : evaluate_claims(cells, t.claims))
    j["claims"].push_back({{"cell", o.claim.cell}, {"threshold", o.claim.threshold},
                           {"comparison", o.claim.at_most ? "<=" : ">="}, {"source", o.claim.source},
                           {"evaluated", o.evaluated}, {"held", o.held}, {"mean", o.mean}, {"std", o.stddev}});
  return j;
}

void write_results(const std::string& dir, const ResultsTable& t) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  LOWBIT_CHECK(!ec, "results: cannot create directory '{}': {}", dir, ec.message());
  const std::string json = render_json(t).dump(2) + "\n";
  const std::string md = render_markdown(t);
  const std::string csv = render_csv(t);
  nn::write_file_atomic(dir + "/results.json", json.data(), json.size());
  nn::write_file_atomic(dir + "/table.md", md.data(), md.size());
  nn::write_file_atomic(dir + "/table.csv", csv.data(), csv.size());
}

}  // namespace lowbit::lab
