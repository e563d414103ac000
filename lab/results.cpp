#include "lab/results.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/error.h"
#include "lab/verdict.h"
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
      it->images = r.images;
      it->layer_bits = r.layer_bits;
    } else {
      LOWBIT_CHECK(it->params == r.params, "results: runs of cell '{}' have different parameters", r.cell);
    }
    it->seeds.push_back(r.seed);
    it->values.push_back(r.metric);
    it->wall_seconds_total += r.wall_seconds;
    if (it->layer_bits.is_null()) it->layer_bits = r.layer_bits;
  }
  // Per-run metrics: the mean over the runs of the cell that report a number under the key.
  for (CellSummary& c : cells) {
    std::map<std::string, std::pair<double, int>> acc;
    for (const RunResult& r : runs) {
      if (r.cell != c.cell || !r.metrics.is_object()) continue;
      for (auto m = r.metrics.begin(); m != r.metrics.end(); ++m)
        if (m.value().is_number()) {
          acc[m.key()].first += m.value().get<double>();
          acc[m.key()].second += 1;
        }
    }
    for (const auto& [k, v] : acc) c.metrics[k] = v.first / v.second;
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

std::string format_mean_std(double mean, double stddev, int decimals) {
  return fmt::format("{:.{}f} ± {:.{}f}", mean, decimals, stddev, decimals);
}

namespace {

// Integers as integers; a mean over seeds of a large count (a size in bytes that differs between seeds' searched
// configs) rounded to an integer rather than printed as 1.729e+04; small values with 4 significant digits.
std::string format_metric(double v) {
  if (std::fabs(v) < 1e12 && (v == std::floor(v) || std::fabs(v) >= 1000.0)) return fmt::format("{:.0f}", v);
  return fmt::format("{:.4g}", v);
}

std::string metric_or_dash(const CellSummary& c, const std::string& key) {
  const auto it = c.metrics.find(key);
  return it == c.metrics.end() ? std::string("–") : format_metric(it->second);
}

// Every row a claim may name: the cells and the teachers.
std::vector<CellSummary> claim_rows(const ResultsTable& t) {
  std::vector<CellSummary> rows = summarize(t.runs);
  for (CellSummary& c : summarize(t.teacher_runs)) rows.push_back(std::move(c));
  return rows;
}

std::string compared_text(const ClaimOutcome& o) {
  const Claim& c = o.claim;
  if (c.rule == ClaimRule::threshold) return c.cell;
  std::string s;
  for (size_t i = 0; i < c.pairs.size(); ++i) {
    const ClaimPair& p = c.pairs[i];
    // The baseline actually compared (the chosen nearest one) when the pair was evaluated.
    const auto done = std::find_if(o.pairs.begin(), o.pairs.end(), [&](const PairOutcome& x) { return x.method == p.method; });
    std::string base = p.baseline;
    if (!p.nearest.empty())
      base = done != o.pairs.end() ? fmt::format("{} ({})", done->baseline, done->note)
                                   : fmt::format("nearest by {} of {} rows", p.by, p.nearest.size());
    std::string diff;
    if (done != o.pairs.end()) diff = fmt::format(": {:+.2f} ± {:.2f}", done->diff, done->se);
    s += fmt::format("{}{} vs {}{}", i ? "; " : "", p.method, base, diff);
  }
  return s;
}

std::string measured_text(const ClaimOutcome& o) {
  if (!o.computed) return "–";
  const char* what = o.claim.rule == ClaimRule::threshold ? "mean" : "D";
  return fmt::format("{} = {:+.2f}, SE {:.2f}, [{:.2f}, {:.2f}]", what, o.value, o.se, o.low(), o.high());
}

}  // namespace

std::string render_markdown(const ResultsTable& t) {
  const std::vector<CellSummary> cells = summarize(t.runs);
  std::string md = fmt::format("# {}\n\n", t.title.empty() ? t.name : t.title);
  md += "| cell |";
  std::string rule = "|---|";
  for (const std::string& p : t.param_columns) {
    md += fmt::format(" {} |", md_escape(p));
    rule += "---|";
  }
  for (const std::string& m : t.metric_columns) {
    md += fmt::format(" {} |", md_escape(m));
    rule += "---|";
  }
  md += fmt::format(" {} (mean ± std) | seeds | epochs | images used | wall time (s) |\n", md_escape(t.metric_name));
  md += rule + "---|---|---|---|---|\n";
  for (const CellSummary& c : cells) {
    md += fmt::format("| {} |", md_escape(c.cell));
    for (const std::string& p : t.param_columns) md += fmt::format(" {} |", md_escape(param_or_dash(c, p)));
    for (const std::string& m : t.metric_columns) md += fmt::format(" {} |", metric_or_dash(c, m));
    md += fmt::format(" {} | {} | {} | {} | {:.0f} |\n", format_mean_std(c.mean, c.stddev), c.values.size(), c.epochs,
                      c.images, c.wall_seconds_total);
  }
  if (!t.teacher_runs.empty()) {
    md += "\n## Teachers (fp32, one per seed, shared by every cell of that seed that names them)\n\n"
          "| teacher | model | dataset | test top-1 % (mean ± std) | seeds | epochs | images used | wall time (s) |\n"
          "|---|---|---|---|---|---|---|---|\n";
    for (const CellSummary& c : summarize(t.teacher_runs))
      md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.0f} |\n", md_escape(c.cell), param_or_dash(c, "model"),
                        param_or_dash(c, "dataset"), format_mean_std(c.mean, c.stddev), c.values.size(), c.epochs,
                        c.images, c.wall_seconds_total);
  }
  const std::vector<ClaimOutcome> outcomes = evaluate_claims(claim_rows(t), t.claims);
  if (!outcomes.empty()) {
    md += "\n## Claims under test\n\n"
          "Verdict rule (lab/verdict.h): for each pair, d = mean(method) − mean(baseline) over the seeds, in accuracy "
          "points, with se = sqrt(s_m²/n_m + s_b²/n_b); D is the average of d over the claim's pairs and SE = "
          "sqrt(Σ se²)/K. The rule of each claim is in its row; a row without runs or with one seed makes it "
          "inconclusive.\n\n"
          "| claim | source | compared (d ± se per pair) | measured | rule | verdict |\n|---|---|---|---|---|---|\n";
    for (const ClaimOutcome& o : outcomes)
      md += fmt::format("| \"{}\" | {} | {} | {} | {}: {} | **{}** |\n", md_escape(o.claim.text), md_escape(o.claim.source),
                        md_escape(compared_text(o)), measured_text(o), claim_rule_name(o.claim.rule),
                        md_escape(rule_text(o.claim)), md_escape(o.verdict_text()));
  }
  if (!t.missing.empty()) {
    md += fmt::format("\n## Missing runs ({})\n\n", t.missing.size());
    for (const std::string& m : t.missing) md += fmt::format("- {}\n", md_escape(m));
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
  for (const std::string& m : t.metric_columns) csv += "," + csv_escape(m);
  csv += ",n,mean,std,min,max,epochs,images,wall_seconds\n";
  for (const CellSummary& c : summarize(t.runs)) {
    csv += csv_escape(c.cell);
    for (const std::string& p : t.param_columns) csv += "," + csv_escape(param_or_dash(c, p));
    for (const std::string& m : t.metric_columns) {
      const auto it = c.metrics.find(m);
      csv += it == c.metrics.end() ? std::string(",") : fmt::format(",{:.6g}", it->second);
    }
    csv += fmt::format(",{},{:.4f},{:.4f},{:.4f},{:.4f},{},{},{:.1f}\n", c.values.size(), c.mean, c.stddev, c.min,
                       c.max, c.epochs, c.images, c.wall_seconds_total);
  }
  return csv;
}

namespace {
nlohmann::json runs_json(const std::vector<RunResult>& runs) {
  nlohmann::json a = nlohmann::json::array();
  for (const RunResult& r : runs) {
    nlohmann::json j = {{"cell", r.cell}, {"params", r.params}, {"seed", r.seed},         {"metric", r.metric},
                        {"wall_seconds", r.wall_seconds},      {"epochs", r.epochs},     {"images", r.images}};
    if (!r.metrics.is_null()) j["metrics"] = r.metrics;
    if (!r.layer_bits.is_null()) j["layer_bits"] = r.layer_bits;
    a.push_back(std::move(j));
  }
  return a;
}
nlohmann::json cells_json(const std::vector<CellSummary>& cells) {
  nlohmann::json a = nlohmann::json::array();
  for (const CellSummary& c : cells)
    a.push_back({{"cell", c.cell}, {"params", c.params}, {"seeds", c.seeds}, {"values", c.values},
                 {"mean", c.mean}, {"std", c.stddev}, {"min", c.min}, {"max", c.max}, {"epochs", c.epochs},
                 {"images", c.images}, {"wall_seconds_total", c.wall_seconds_total}, {"metrics", c.metrics}});
  return a;
}
}  // namespace

nlohmann::json render_json(const ResultsTable& t) {
  using nlohmann::json;
  json j;
  j["name"] = t.name;
  j["title"] = t.title;
  j["metric"] = t.metric_name;
  j["provenance"] = t.provenance;
  j["runs"] = runs_json(t.runs);
  j["cells"] = cells_json(summarize(t.runs));
  j["teacher_runs"] = runs_json(t.teacher_runs);
  j["teachers"] = cells_json(summarize(t.teacher_runs));
  j["claims"] = json::array();
  for (const ClaimOutcome& o : evaluate_claims(claim_rows(t), t.claims)) {
    json pairs = json::array();
    for (const PairOutcome& p : o.pairs)
      pairs.push_back({{"method", p.method}, {"baseline", p.baseline}, {"diff", p.diff}, {"se", p.se}, {"note", p.note}});
    json c = {{"id", o.claim.id},       {"text", o.claim.text},         {"source", o.claim.source},
              {"rule", claim_rule_name(o.claim.rule)}, {"rule_text", rule_text(o.claim)},
              {"verdict", verdict_name(o.verdict)},    {"verdict_text", o.verdict_text()},
              {"computed", o.computed},                {"pairs", pairs}};
    if (o.computed) {
      c["value"] = o.value;
      c["se"] = o.se;
      c["interval"] = {o.low(), o.high()};
    }
    j["claims"].push_back(std::move(c));
  }
  j["missing"] = t.missing;
  for (auto it = t.extra.begin(); it != t.extra.end(); ++it) j[it.key()] = it.value();
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
