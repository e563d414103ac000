#include "lab/verdict.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/error.h"

namespace lowbit::lab {

namespace {

const CellSummary* find_row(const std::vector<CellSummary>& rows, const std::string& label) {
  const auto it = std::find_if(rows.begin(), rows.end(), [&](const CellSummary& c) { return c.cell == label; });
  return it == rows.end() ? nullptr : &*it;
}

// Standard error of a row's mean: s / sqrt(n).
double se_of(const CellSummary& c) { return c.stddev / std::sqrt(static_cast<double>(c.values.size())); }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void add_unique(std::vector<std::string>& v, const std::string& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

const char* claim_rule_name(ClaimRule r) {
  switch (r) {
    case ClaimRule::better: return "better";
    case ClaimRule::not_worse: return "not_worse";
    case ClaimRule::threshold: return "threshold";
  }
  return "?";
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::held: return "held";
    case Verdict::not_held: return "not held";
    case Verdict::inconclusive: return "inconclusive";
  }
  return "?";
}

std::string ClaimOutcome::verdict_text() const {
  if (verdict == Verdict::inconclusive && !reason.empty()) return fmt::format("inconclusive ({})", reason);
  return verdict_name(verdict);
}

std::string rule_text(const Claim& c) {
  switch (c.rule) {
    case ClaimRule::better:
      return fmt::format("D = mean difference method − baseline over {} pair{}; held if D − 2·SE > 0 and D ≥ {:g}; "
                         "not held if D + 2·SE < {:g}; else inconclusive",
                         c.pairs.size(), c.pairs.size() == 1 ? "" : "s", c.margin, c.margin);
    case ClaimRule::not_worse:
      return fmt::format("D = mean difference method − baseline over {} pair{}; held if D − 2·SE ≥ −{:g}; "
                         "not held if D + 2·SE < −{:g}; else inconclusive",
                         c.pairs.size(), c.pairs.size() == 1 ? "" : "s", c.tolerance, c.tolerance);
    case ClaimRule::threshold:
      return c.at_most ? fmt::format("held if mean + 2·se ≤ {:g}; not held if mean − 2·se > {:g}; else inconclusive",
                                     c.threshold, c.threshold)
                       : fmt::format("held if mean − 2·se ≥ {:g}; not held if mean + 2·se < {:g}; else inconclusive",
                                     c.threshold, c.threshold);
  }
  return "";
}

ClaimOutcome evaluate_claim(const Claim& c, const std::vector<CellSummary>& rows) {
  ClaimOutcome o;
  o.claim = c;
  std::vector<std::string> missing, single, no_metric;
  // A row usable for the rule: present, with ≥ 2 seeds.
  auto usable = [&](const std::string& label) -> const CellSummary* {
    const CellSummary* r = find_row(rows, label);
    if (!r) {
      add_unique(missing, label);
      return nullptr;
    }
    if (r->values.size() < 2) {
      add_unique(single, label);
      return nullptr;
    }
    return r;
  };

  if (c.rule == ClaimRule::threshold) {
    if (const CellSummary* r = usable(c.cell)) {
      o.computed = true;
      o.value = r->mean;
      o.se = se_of(*r);
    }
  } else {
    LOWBIT_CHECK(!c.pairs.empty(), "claim '{}': no pairs to compare", c.id);
    double sum_d = 0.0, sum_se2 = 0.0;
    bool complete = true;
    for (const ClaimPair& p : c.pairs) {
      const CellSummary* m = usable(p.method);
      const CellSummary* b = nullptr;
      std::string note;
      if (p.nearest.empty()) {
        b = usable(p.baseline);
      } else {
        // Every candidate must have run, or the choice could change when the missing one arrives.
        std::vector<const CellSummary*> cands;
        for (const std::string& n : p.nearest) cands.push_back(usable(n));
        const bool all = std::none_of(cands.begin(), cands.end(), [](const CellSummary* x) { return x == nullptr; });
        if (m && all) {
          auto metric = [&](const CellSummary* r) {
            const auto it = r->metrics.find(p.by);
            if (it == r->metrics.end() || !(it->second > 0)) {
              add_unique(no_metric, r->cell);
              return -1.0;
            }
            return it->second;
          };
          const double mv = metric(m);
          double best = 0.0, best_v = -1.0;
          for (const CellSummary* x : cands) {
            const double v = metric(x);
            if (v <= 0 || mv <= 0) continue;
            const double dist = std::fabs(std::log(v / mv));
            if (!b || dist < best - 1e-12 || (std::fabs(dist - best) <= 1e-12 && v > best_v)) {
              b = x;
              best = dist;
              best_v = v;
            }
          }
          if (b && mv > 0) note = fmt::format("nearest by {} (method/baseline {:.3g})", p.by, mv / best_v);
          else b = nullptr;
        }
      }
      if (!m || !b) {
        complete = false;
        continue;
      }
      PairOutcome po;
      po.method = m->cell;
      po.baseline = b->cell;
      po.diff = m->mean - b->mean;
      po.se = std::sqrt(se_of(*m) * se_of(*m) + se_of(*b) * se_of(*b));
      po.note = note;
      sum_d += po.diff;
      sum_se2 += po.se * po.se;
      o.pairs.push_back(po);
    }
    if (complete) {
      const double k = static_cast<double>(c.pairs.size());
      o.computed = true;
      o.value = sum_d / k;
      o.se = std::sqrt(sum_se2) / k;
    }
  }

  if (!missing.empty()) {
    o.reason = "missing runs: " + join(missing);
  } else if (!single.empty()) {
    o.reason = "fewer than 2 seeds: " + join(single);
  } else if (!no_metric.empty()) {
    o.reason = fmt::format("no positive metric '{}' for: {}", c.pairs.empty() ? "" : c.pairs[0].by, join(no_metric));
  }
  if (!o.computed) {
    o.verdict = Verdict::inconclusive;
    return o;
  }
  const double lo = o.low(), hi = o.high(), d = o.value;
  switch (c.rule) {
    case ClaimRule::better:
      o.verdict = lo > 0 && d >= c.margin ? Verdict::held : hi < c.margin ? Verdict::not_held : Verdict::inconclusive;
      break;
    case ClaimRule::not_worse:
      o.verdict = lo >= -c.tolerance ? Verdict::held : hi < -c.tolerance ? Verdict::not_held : Verdict::inconclusive;
      break;
    case ClaimRule::threshold:
      if (c.at_most)
        o.verdict = hi <= c.threshold ? Verdict::held : lo > c.threshold ? Verdict::not_held : Verdict::inconclusive;
      else
        o.verdict = lo >= c.threshold ? Verdict::held : hi < c.threshold ? Verdict::not_held : Verdict::inconclusive;
      break;
  }
  return o;
}

std::vector<ClaimOutcome> evaluate_claims(const std::vector<CellSummary>& rows, const std::vector<Claim>& claims) {
  std::vector<ClaimOutcome> out;
  for (const Claim& c : claims) out.push_back(evaluate_claim(c, rows));
  return out;
}

}  // namespace lowbit::lab
