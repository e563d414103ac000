// Host-side helpers of the bgemm family: threshold folding and operand checks (no kernels here).
//
// Threshold folding (derivation in bgemm.h): for s > 0 the float value f(d) = fl(fl(s·d) + b) is non-decreasing in
// the integer d (rounding is monotone), so {d : f(d) < 0} = (−∞, t) for one integer t; for s < 0 it is
// non-increasing and {d : f(d) < 0} = [t, ∞), expressed as ¬(d < t) with the flip bit. The closed forms ⌈−b/s⌉ and
// ⌊−b/s⌋ + 1 are computed in double and then stepped by ±1 until f agrees on both sides of t, so the folded test
// reproduces the float test exactly (|d| < 2^24, where float(d) is exact). t is clamped to ±2^25, outside any
// reachable dot.
#include <cmath>

#include "kernels/bgemm/bgemm.h"

namespace lowbit::kernels {

namespace {

constexpr int64_t kThresholdLimit = int64_t{1} << 25;

bool negative(float s, float b, int64_t d) {
  return bgemm_affine(s, d, b) < 0.0f;
}

int64_t clamp_threshold(double x) {
  if (!(x == x)) return 0;
  if (x > static_cast<double>(kThresholdLimit)) return kThresholdLimit;
  if (x < -static_cast<double>(kThresholdLimit)) return -kThresholdLimit;
  return static_cast<int64_t>(x);
}

}  // namespace

void bgemm_thresholds_from_affine(const float* scale, const float* bias, size_t M, int32_t* threshold, bword* flip) {
  for (size_t w = 0; w < packed_words(M); ++w) flip[w] = 0;
  for (size_t m = 0; m < M; ++m) {
    const float s = scale ? scale[m] : 1.0f;
    const float b = bias ? bias[m] : 0.0f;
    int64_t t;
    bool flipped = false;
    if (std::isnan(s) || std::isnan(b)) {
      t = -kThresholdLimit;  // NaN < 0 is false: always bit 0
    } else if (s > 0.0f) {
      t = clamp_threshold(std::ceil(-static_cast<double>(b) / s));
      for (int i = 0; i < 64 && t > -kThresholdLimit && !negative(s, b, t - 1); ++i) --t;
      for (int i = 0; i < 64 && t < kThresholdLimit && negative(s, b, t); ++i) ++t;
    } else if (s < 0.0f) {
      flipped = true;
      t = clamp_threshold(std::floor(-static_cast<double>(b) / s) + 1.0);
      for (int i = 0; i < 64 && t > -kThresholdLimit && negative(s, b, t - 1); ++i) --t;
      for (int i = 0; i < 64 && t < kThresholdLimit && !negative(s, b, t); ++i) ++t;
    } else {
      t = b < 0.0f ? kThresholdLimit : -kThresholdLimit;
    }
    threshold[m] = static_cast<int32_t>(t);
    if (flipped) flip[m / kBitsPerWord] |= bword{1} << (m % kBitsPerWord);
  }
}

Status bgemm_check(const BgemmOperands& op) {
  if (!op.A || !op.B) return Status::null_pointer;
  if (op.col_class && !op.class_corr) return Status::null_pointer;
  if (op.M == 0 || op.N == 0 || op.K == 0) return Status::bad_size;
  if (op.kw < packed_words(op.K) || op.lda < op.kw || op.ldb < op.kw) return Status::bad_size;
  return Status::ok;
}

namespace {

// The i32 and f32 outputs share their checks: a non-null C and strides that do not collapse two elements.
template <class Out>
Status check_dense_out(const BgemmOperands& op, const Out& out) {
  const Status s = bgemm_check(op);
  if (s != Status::ok) return s;
  if (!out.C) return Status::null_pointer;
  if (out.cs_m == 0 && op.M > 1) return Status::bad_size;
  if (out.cs_n == 0 && op.N > 1) return Status::bad_size;
  return Status::ok;
}

}  // namespace

Status bgemm_check(const BgemmOperands& op, const BgemmOutI32& out) { return check_dense_out(op, out); }

Status bgemm_check(const BgemmOperands& op, const BgemmOutF32& out) { return check_dense_out(op, out); }

Status bgemm_check(const BgemmOperands& op, const BgemmOutBits& out) {
  const Status s = bgemm_check(op);
  if (s != Status::ok) return s;
  if (!out.C || !out.threshold) return Status::null_pointer;
  if (out.ldc < packed_words(op.M)) return Status::bad_size;
  return Status::ok;
}

}  // namespace lowbit::kernels
