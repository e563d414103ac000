#include "engine/init.h"

#include <cmath>

#include "engine/error.h"

namespace lowbit {

namespace {
int64_t receptive(const Shape& s) {
  int64_t r = 1;
  for (int i = 2; i < s.rank(); ++i) r *= s[i];
  return r;
}
}  // namespace

int64_t fan_in(const Shape& s) {
  LOWBIT_CHECK(s.rank() >= 2, "fan_in: weight shape {} needs rank >= 2", s.str());
  return s[1] * receptive(s);
}

int64_t fan_out(const Shape& s) {
  LOWBIT_CHECK(s.rank() >= 2, "fan_out: weight shape {} needs rank >= 2", s.str());
  return s[0] * receptive(s);
}

void uniform_(Tensor& t, Rng& rng, float lo, float hi) {
  LOWBIT_CHECK(lo <= hi, "uniform_: lo {} > hi {}", lo, hi);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(lo, hi);
}

void normal_(Tensor& t, Rng& rng, float mean, float stddev) {
  LOWBIT_CHECK(stddev >= 0.0f, "normal_: negative stddev {}", stddev);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = rng.normal(mean, stddev);
}

void kaiming_normal_(Tensor& w, Rng& rng, float gain) {
  const int64_t f = fan_in(w.shape());
  LOWBIT_CHECK(f > 0, "kaiming_normal_: zero fan-in for shape {}", w.shape().str());
  normal_(w, rng, 0.0f, gain / std::sqrt(static_cast<float>(f)));
}

void kaiming_uniform_(Tensor& w, Rng& rng, float a) {
  const int64_t f = fan_in(w.shape());
  LOWBIT_CHECK(f > 0, "kaiming_uniform_: zero fan-in for shape {}", w.shape().str());
  const float gain = std::sqrt(2.0f / (1.0f + a * a));
  const float bound = gain * std::sqrt(3.0f / static_cast<float>(f));
  uniform_(w, rng, -bound, bound);
}

void xavier_uniform_(Tensor& w, Rng& rng, float gain) {
  const int64_t fi = fan_in(w.shape()), fo = fan_out(w.shape());
  LOWBIT_CHECK(fi + fo > 0, "xavier_uniform_: zero fans for shape {}", w.shape().str());
  const float bound = gain * std::sqrt(6.0f / static_cast<float>(fi + fo));
  uniform_(w, rng, -bound, bound);
}

void bias_uniform_(Tensor& b, Rng& rng, int64_t fan_in_) {
  LOWBIT_CHECK(fan_in_ > 0, "bias_uniform_: fan_in must be > 0, got {}", fan_in_);
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in_));
  uniform_(b, rng, -bound, bound);
}

}  // namespace lowbit
