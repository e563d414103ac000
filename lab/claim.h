// A claim under test in a results table: the text quoted from its source and how to compare it with our runs.
// Rows are named by their labels (the table's first column); a teacher's accuracy over the seeds by
// "teacher:<id>". The rule that turns measurements into a verdict is lab/verdict.h; the grid file's form is in
// lab/grids/README.md ("Claims and verdicts").
#pragma once
#include <string>
#include <vector>

namespace lowbit::lab {

enum class ClaimRule {
  better,     // the method is more accurate than the baseline (by at least `margin` points when one is claimed)
  not_worse,  // the method loses at most `tolerance` points against the baseline
  threshold,  // one row's accuracy is ≥ threshold (≤ with at_most)
};
const char* claim_rule_name(ClaimRule r);  // "better", "not_worse", "threshold"

// One comparison: a method row against a baseline row, or against the row of `nearest` whose mean `by` metric
// (e.g. size_bytes) is closest to the method's.
struct ClaimPair {
  std::string method;
  std::string baseline;              // a row label or "teacher:<id>"; empty when `nearest` is used
  std::vector<std::string> nearest;  // candidate baseline rows
  std::string by;                    // the metric that matches them (size_bytes, bitops, avg_wbits)
};

struct Claim {
  std::string id;      // file-name safe, unique in the grid
  std::string text;    // quoted from the source
  std::string source;  // where it comes from (paper, issue)
  ClaimRule rule = ClaimRule::better;
  double margin = 0.0;     // better: the claimed difference in points (0 = the direction only)
  double tolerance = 0.0;  // not_worse: points the method may lose
  double threshold = 0.0;  // threshold: the target accuracy of `cell`
  bool at_most = false;
  std::string cell;                // threshold: the row
  std::vector<ClaimPair> pairs;    // better / not_worse: the difference is averaged over the pairs
};

inline constexpr const char* kTeacherRowPrefix = "teacher:";

}  // namespace lowbit::lab
