// The verdict rule of lab/verdict.h on hand-made summaries: better / not_worse / threshold each held, not held and
// inconclusive; averaging over pairs; missing rows and single seeds make a claim inconclusive and say which;
// `nearest` picks the baseline of closest size (the larger on a tie); teachers as rows.
#include <doctest/doctest.h>

#include <cmath>

#include "lab/verdict.h"

using namespace lowbit::lab;

namespace {

// A row with the given per-seed values (and optionally a size metric).
CellSummary row(const std::string& label, std::vector<double> values, double size = 0.0) {
  std::vector<RunResult> runs;
  for (size_t i = 0; i < values.size(); ++i) {
    RunResult r;
    r.cell = label;
    r.seed = i + 1;
    r.metric = values[i];
    if (size > 0) r.metrics = {{"size_bytes", size}};
    runs.push_back(r);
  }
  return summarize(runs).at(0);
}

Claim better(std::vector<ClaimPair> pairs, double margin = 0.0) {
  Claim c;
  c.id = "c";
  c.text = "method beats baseline";
  c.rule = ClaimRule::better;
  c.margin = margin;
  c.pairs = std::move(pairs);
  return c;
}

ClaimPair pair(const std::string& m, const std::string& b) {
  ClaimPair p;
  p.method = m;
  p.baseline = b;
  return p;
}

}  // namespace

TEST_CASE("verdict: better is held, not held or inconclusive by D and 2 SE") {
  // Method 90, 91, 92 (mean 91, s 1); baseline 85, 86, 87 (mean 86, s 1): D = 5, SE = sqrt(2/3) = 0.816.
  const std::vector<CellSummary> rows = {row("m", {90, 91, 92}), row("b", {85, 86, 87}), row("close", {90.5, 91, 91.5}),
                                         row("worse", {95, 96, 97})};
  ClaimOutcome o = evaluate_claim(better({pair("m", "b")}), rows);
  REQUIRE(o.computed);
  CHECK(o.value == doctest::Approx(5.0));
  CHECK(o.se == doctest::Approx(std::sqrt(2.0 / 3.0)));
  CHECK(o.verdict == Verdict::held);
  CHECK(o.verdict_text() == "held");
  REQUIRE(o.pairs.size() == 1);
  CHECK(o.pairs[0].baseline == "b");

  // The claimed margin: D = 5 reaches 4 (held); the interval [3.37, 6.63] lies below 21.6 (not held); 6 is inside
  // the interval but above D (inconclusive).
  CHECK(evaluate_claim(better({pair("m", "b")}, 4.0), rows).verdict == Verdict::held);
  CHECK(evaluate_claim(better({pair("m", "b")}, 21.6), rows).verdict == Verdict::not_held);
  CHECK(evaluate_claim(better({pair("m", "b")}, 6.0), rows).verdict == Verdict::inconclusive);
  // A difference inside the noise: D = 0, SE > 0: inconclusive; clearly worse: not held.
  CHECK(evaluate_claim(better({pair("m", "close")}), rows).verdict == Verdict::inconclusive);
  o = evaluate_claim(better({pair("m", "worse")}), rows);
  CHECK(o.value == doctest::Approx(-5.0));
  CHECK(o.verdict == Verdict::not_held);
  CHECK(o.verdict_text() == "not held");
}

TEST_CASE("verdict: the difference is averaged over pairs and the SE combines theirs") {
  const std::vector<CellSummary> rows = {row("m1", {90, 91, 92}), row("b1", {85, 86, 87}), row("m2", {80, 80, 80}),
                                         row("b2", {81, 81, 81})};
  const ClaimOutcome o = evaluate_claim(better({pair("m1", "b1"), pair("m2", "b2")}), rows);
  REQUIRE(o.computed);
  CHECK(o.value == doctest::Approx((5.0 - 1.0) / 2.0));
  CHECK(o.se == doctest::Approx(std::sqrt(2.0 / 3.0) / 2.0));  // the second pair has no spread
  CHECK(o.verdict == Verdict::held);  // 2 − 0.82 > 0
  CHECK(o.pairs.size() == 2);
  CHECK(o.pairs[1].diff == doctest::Approx(-1.0));
}

TEST_CASE("verdict: missing rows and single seeds make the claim inconclusive, naming them") {
  const std::vector<CellSummary> rows = {row("m", {90, 91, 92}), row("one", {70})};
  ClaimOutcome o = evaluate_claim(better({pair("m", "b"), pair("x", "m")}), rows);
  CHECK_FALSE(o.computed);
  CHECK(o.verdict == Verdict::inconclusive);
  CHECK(o.verdict_text() == "inconclusive (missing runs: b, x)");
  o = evaluate_claim(better({pair("m", "one")}), rows);
  CHECK(o.verdict_text() == "inconclusive (fewer than 2 seeds: one)");
  Claim t;
  t.rule = ClaimRule::threshold;
  t.cell = "gone";
  t.threshold = 50;
  CHECK(evaluate_claim(t, rows).verdict_text() == "inconclusive (missing runs: gone)");
}

TEST_CASE("verdict: not_worse against the fp32 teacher with a tolerance") {
  // Method 90.0 ± 0.1, teacher 90.5 ± 0.1: D = −0.5, SE ≈ 0.082.
  const std::vector<CellSummary> rows = {row("q", {89.9, 90.0, 90.1}), row("teacher:t", {90.4, 90.5, 90.6}),
                                         row("bad", {85, 85.1, 84.9})};
  Claim c;
  c.id = "full";
  c.rule = ClaimRule::not_worse;
  c.tolerance = 1.0;
  c.pairs = {pair("q", "teacher:t")};
  ClaimOutcome o = evaluate_claim(c, rows);
  CHECK(o.value == doctest::Approx(-0.5));
  CHECK(o.verdict == Verdict::held);  // −0.66 ≥ −1
  c.tolerance = 0.3;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::not_held);  // −0.34 < −0.3
  c.tolerance = 0.6;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::inconclusive);  // −0.66 < −0.6 ≤ −0.34
  c.tolerance = 1.0;
  c.pairs = {pair("bad", "teacher:t")};
  CHECK(evaluate_claim(c, rows).verdict == Verdict::not_held);
}

TEST_CASE("verdict: threshold claims, at least and at most") {
  const std::vector<CellSummary> rows = {row("r", {86, 87, 88})};  // mean 87, se 0.577
  Claim c;
  c.rule = ClaimRule::threshold;
  c.cell = "r";
  c.threshold = 85.5;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::held);
  c.threshold = 89.0;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::not_held);
  c.threshold = 87.5;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::inconclusive);
  c.at_most = true;
  c.threshold = 89.0;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::held);
  c.threshold = 85.5;
  CHECK(evaluate_claim(c, rows).verdict == Verdict::not_held);
  CHECK(rule_text(c).find("85.5") != std::string::npos);
}

TEST_CASE("verdict: nearest picks the baseline of closest size, the larger on a tie") {
  const std::vector<CellSummary> rows = {row("mixed", {90, 91, 92}, 1000), row("u2", {84, 85, 86}, 600),
                                         row("u3", {88, 89, 90}, 900),     row("u4", {91, 92, 93}, 1200),
                                         row("tie_lo", {80, 80.5, 81}, 500), row("tie_hi", {80, 80.5, 81}, 2000)};
  ClaimPair p;
  p.method = "mixed";
  p.nearest = {"u2", "u3", "u4"};
  p.by = "size_bytes";
  ClaimOutcome o = evaluate_claim(better({p}), rows);
  REQUIRE(o.pairs.size() == 1);
  CHECK(o.pairs[0].baseline == "u3");  // |log(900/1000)| < |log(1200/1000)|
  CHECK(o.pairs[0].note.find("size_bytes") != std::string::npos);
  CHECK(o.value == doctest::Approx(2.0));
  p.nearest = {"tie_lo", "tie_hi"};  // 1000/500 and 2000/1000: equally far in log scale
  o = evaluate_claim(better({p}), rows);
  REQUIRE(o.pairs.size() == 1);
  CHECK(o.pairs[0].baseline == "tie_hi");
  // A candidate without runs: inconclusive (the choice could change), naming it.
  p.nearest = {"u3", "u8"};
  CHECK(evaluate_claim(better({p}), rows).verdict_text() == "inconclusive (missing runs: u8)");
  // Rows without the metric.
  p.nearest = {"u3"};
  p.by = "bitops";
  const ClaimOutcome none = evaluate_claim(better({p}), rows);
  CHECK(none.verdict == Verdict::inconclusive);
  CHECK(none.verdict_text().find("bitops") != std::string::npos);
}
