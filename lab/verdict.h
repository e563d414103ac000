// The verdict of a claim (lab/claim.h), computed from the runs by one stated rule; no verdict is typed by hand.
//
// For each pair k: d_k = mean(method) − mean(baseline) over seeds (accuracy points) and its standard error
// se_k = sqrt(s_m²/n_m + s_b²/n_b) (s = sample std over the seeds, n = number of seeds). Over K pairs
// D = (1/K)·Σ d_k and SE = (1/K)·sqrt(Σ se_k²); the interval is [D − 2·SE, D + 2·SE] (about 95 %, normal
// quantile; with 3 seeds a t-test would be wider). For `nearest` pairs the baseline is the candidate whose mean
// `by` metric is closest to the method's in log scale (the larger on a tie).
//
//   better (margin m ≥ 0)        held: D − 2·SE > 0 and D ≥ m     not held: D + 2·SE < m     else inconclusive
//   not_worse (tolerance t ≥ 0)  held: D − 2·SE ≥ −t              not held: D + 2·SE < −t    else inconclusive
//   threshold (value v)          held: mean − 2·se ≥ v            not held: mean + 2·se < v  else inconclusive
//                                (at_most: held mean + 2·se ≤ v, not held mean − 2·se > v; se = s/sqrt(n))
//
// A row without runs makes the verdict "inconclusive (missing runs: …)"; a row with a single seed (no spread to
// judge by) "inconclusive (fewer than 2 seeds: …)"; a `nearest` pair whose rows lack the `by` metric
// "inconclusive (no <by> metric: …)".
#pragma once
#include <string>
#include <vector>

#include "lab/claim.h"
#include "lab/results.h"

namespace lowbit::lab {

enum class Verdict { held, not_held, inconclusive };
const char* verdict_name(Verdict v);  // "held", "not held", "inconclusive"

struct PairOutcome {
  std::string method, baseline;  // the baseline actually compared (the chosen one for `nearest`)
  double diff = 0.0, se = 0.0;
  std::string note;              // nearest: "nearest by size_bytes (method/baseline 0.97)"
};

struct ClaimOutcome {
  Claim claim;
  Verdict verdict = Verdict::inconclusive;
  std::string reason;      // why inconclusive without a computed interval (missing runs, one seed, no metric)
  bool computed = false;   // value/se hold the measurement
  double value = 0.0;      // better / not_worse: D; threshold: the row's mean
  double se = 0.0;         // SE of value
  std::vector<PairOutcome> pairs;
  // "held", "not held", "inconclusive", "inconclusive (missing runs: A, B)"
  std::string verdict_text() const;
  double low() const { return value - 2.0 * se; }
  double high() const { return value + 2.0 * se; }
};

// The rule of a claim in words, with its numbers ("held if D − 2·SE > 0 and D ≥ 21.6; not held if D + 2·SE < 21.6").
std::string rule_text(const Claim& c);

// `rows` are the summaries of every row that has runs (teachers as "teacher:<id>").
ClaimOutcome evaluate_claim(const Claim& c, const std::vector<CellSummary>& rows);
std::vector<ClaimOutcome> evaluate_claims(const std::vector<CellSummary>& rows, const std::vector<Claim>& claims);

}  // namespace lowbit::lab
