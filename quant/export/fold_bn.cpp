// Threshold search and the BatchNorm folding formulas (derivations in fold_bn.h).
#include "quant/export/fold_bn.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace lowbit::quant::deploy {

int32_t threshold_level(int64_t acc, int8_t dir, const int32_t* t, int levels) {
  int32_t level = 0;
  for (int j = 0; j < levels - 1; ++j) level += dir > 0 ? (acc >= t[j]) : (acc <= t[j]);
  return level;
}

namespace {

// Binary codes are −1/+1 (levels 0/1); unsigned codes are their level.
int32_t code_level(int32_t code, int32_t code_lo) { return code_lo == -1 ? (code + 1) / 2 : code - code_lo; }

// The chain's codes at one accumulator per channel (acc[c]) as levels.
void eval_levels(const CodeChain& chain, const std::vector<int64_t>& acc, int64_t rows, int32_t code_lo,
                 std::vector<int32_t>& levels) {
  chain(acc, rows, levels);
  for (int32_t& l : levels) l = code_level(l, code_lo);
}

}  // namespace

Thresholds search_thresholds(int channels, int64_t bound, int32_t code_lo, int levels, const CodeChain& chain,
                             const char* where) {
  LOWBIT_CHECK(bound >= 0 && bound < INT32_MAX - 1, "{}: accumulator bound {} does not fit int32 thresholds", where,
               bound);
  LOWBIT_CHECK(levels >= 2, "{}: a threshold epilogue needs at least 2 levels", where);
  const int L = levels - 1;
  const size_t C = static_cast<size_t>(channels);
  Thresholds th;
  th.dir.assign(C, 1);
  th.t.assign(C * L, kThresholdNever);
  // Levels at both ends of the range give each channel's direction.
  std::vector<int64_t> ends(2 * C);
  for (size_t c = 0; c < C; ++c) ends[c] = -bound, ends[C + c] = bound;
  std::vector<int32_t> lv;
  eval_levels(chain, ends, 2, code_lo, lv);
  for (size_t c = 0; c < C; ++c) {
    LOWBIT_CHECK(lv[c] >= 0 && lv[c] <= L && lv[C + c] >= 0 && lv[C + c] <= L,
                 "{}: channel {} gives a code outside the {} levels", where, c, levels);
    if (lv[C + c] < lv[c]) th.dir[c] = -1;
  }
  // Per (channel, level j = 1..L): dir +1: smallest acc with level ≥ j; dir −1: largest acc with level ≥ j.
  // Bisection on [lo, hi] for every pair at once, one chain call per step over a [L][C] grid.
  std::vector<int64_t> lo(C * L), hi(C * L);
  std::vector<char> open(C * L, 0), searched(C * L, 0);
  for (size_t c = 0; c < C; ++c) {
    const int32_t at_lo = lv[c], at_hi = lv[C + c];
    for (int j = 1; j <= L; ++j) {
      const size_t i = static_cast<size_t>(j - 1) * C + c;
      int32_t& T = th.t[c * L + (j - 1)];
      if (th.dir[c] > 0) {
        if (at_lo >= j) T = kThresholdAlways;
        else if (at_hi < j) T = kThresholdNever;
        else lo[i] = -bound, hi[i] = bound, open[i] = searched[i] = 1;  // level(lo) < j ≤ level(hi)
      } else {
        if (at_hi >= j) T = kThresholdNever;  // acc ≤ INT32_MAX: always
        else if (at_lo < j) T = kThresholdAlways;  // acc ≤ INT32_MIN: never
        else lo[i] = -bound, hi[i] = bound, open[i] = searched[i] = 1;  // level(lo) ≥ j > level(hi)
      }
    }
  }
  std::vector<int64_t> mid(C * L);
  for (;;) {
    bool any = false;
    for (size_t i = 0; i < C * L; ++i) {
      if (open[i] && hi[i] - lo[i] <= 1) open[i] = 0;
      any |= open[i] != 0;
      mid[i] = open[i] ? lo[i] + (hi[i] - lo[i]) / 2 : lo[i];
    }
    if (!any) break;
    eval_levels(chain, mid, L, code_lo, lv);
    for (size_t i = 0; i < C * L; ++i) {
      if (!open[i]) continue;
      const size_t c = i % C;
      const int j = static_cast<int>(i / C) + 1;
      const bool reached = lv[i] >= j;
      if (th.dir[c] > 0) (reached ? hi[i] : lo[i]) = mid[i];
      else (reached ? lo[i] : hi[i]) = mid[i];
    }
  }
  for (size_t i = 0; i < C * L; ++i) {
    if (!searched[i]) continue;
    const size_t c = i % C;
    th.t[c * L + i / C] = static_cast<int32_t>(th.dir[c] > 0 ? hi[i] : lo[i]);
  }
  verify_thresholds(th, channels, bound, code_lo, levels, chain, where);
  return th;
}

void verify_thresholds(const Thresholds& th, int channels, int64_t bound, int32_t code_lo, int levels,
                       const CodeChain& chain, const char* where, int64_t dense, int64_t samples) {
  const size_t C = static_cast<size_t>(channels);
  const int L = levels - 1;
  std::vector<int64_t> pts;
  if (2 * bound + 1 <= dense) {
    for (int64_t a = -bound; a <= bound; ++a) pts.push_back(a);
  } else {
    for (int64_t i = 0; i < samples; ++i) pts.push_back(-bound + (2 * bound) * i / std::max<int64_t>(samples - 1, 1));
  }
  // Every finite threshold and its neighbours, for every channel (the grid is per row, so add them as rows).
  for (size_t c = 0; c < C; ++c)
    for (int j = 0; j < L; ++j) {
      const int32_t T = th.t[c * L + j];
      if (T == kThresholdNever || T == kThresholdAlways) continue;
      for (int64_t d = -1; d <= 1; ++d)
        if (T + d >= -bound && T + d <= bound) pts.push_back(T + d);
    }
  const int64_t rows = static_cast<int64_t>(pts.size());
  std::vector<int64_t> acc(static_cast<size_t>(rows) * C);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < C; ++c) acc[r * C + c] = pts[r];
  std::vector<int32_t> codes;
  chain(acc, rows, codes);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < C; ++c) {
      const int32_t want = code_level(codes[r * C + c], code_lo);
      const int32_t got = threshold_level(pts[r], th.dir[c], th.t.data() + c * L, levels);
      LOWBIT_CHECK(want == got,
                   "{}: channel {} is not a monotone step function of the accumulator (at {} the layer gives level "
                   "{}, the thresholds {}): it cannot be folded into thresholds",
                   where, c, pts[r], want, got);
    }
}

void batchnorm_coefficients(const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                            int channels, std::vector<float>& a, std::vector<float>& b) {
  a.resize(static_cast<size_t>(channels));
  b.resize(static_cast<size_t>(channels));
  for (int c = 0; c < channels; ++c) {
    const float invstd = 1.0f / std::sqrt(var[c] + eps);
    a[c] = (gamma ? gamma[c] : 1.0f) * invstd;
    b[c] = (beta ? beta[c] : 0.0f) - mean[c] * a[c];
  }
}

int8_t real_thresholds(double s, double t, double gamma, double beta, double mean, double var, double eps,
                       const std::vector<double>& theta, std::vector<int64_t>& out) {
  out.clear();
  if (gamma == 0.0) return 0;
  const double sigma = std::sqrt(var + eps);
  for (double th : theta) {
    const double tau = (mean - t + sigma * (th - beta) / gamma) / s;
    out.push_back(gamma > 0.0 ? static_cast<int64_t>(std::ceil(tau)) : static_cast<int64_t>(std::floor(tau)));
  }
  return gamma > 0.0 ? 1 : -1;
}

void folded_affine(const std::vector<float>& s, const std::vector<float>& t, const std::vector<float>& a,
                   const std::vector<float>& b, std::vector<float>& S, std::vector<float>& T) {
  const size_t C = s.size();
  S.resize(C);
  T.resize(C);
  for (size_t c = 0; c < C; ++c) {
    S[c] = static_cast<float>(double(s[c]) * a[c]);
    T[c] = static_cast<float>(double(t[c]) * a[c] + b[c]);
  }
}

}  // namespace lowbit::quant::deploy
