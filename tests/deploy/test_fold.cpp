// BatchNorm folding math against the float computation it replaces: thresholds found on the float chain equal
// the real-arithmetic formula of quant/export/fold_bn.h within one integer, for both signs of γ (the sign flip)
// and γ = 0, for a binary and a 2-bit next layer; the thresholds reproduce every accumulator's code.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/error.h"
#include "engine/rng.h"
#include "quant/codes.h"
#include "quant/export/fold_bn.h"

using namespace lowbit;
using namespace lowbit::quant::deploy;

namespace {

struct Channel {
  float s, t, gamma, beta, mean, var;
};

// The training graph's chain in float: y = s·acc + t, z = y·a + b (engine BatchNorm), act, quantizer.
// bits 1: sign(hardtanh(z)); bits k: DoReFa q_k(clip(z, 0, 1)) codes.
CodeChain float_chain(const std::vector<Channel>& ch, int bits) {
  std::vector<float> a, b, g, be, mu, var;
  for (const Channel& c : ch) g.push_back(c.gamma), be.push_back(c.beta), mu.push_back(c.mean), var.push_back(c.var);
  batchnorm_coefficients(g.data(), be.data(), mu.data(), var.data(), 1e-5f, static_cast<int>(ch.size()), a, b);
  return [ch, a, b, bits](const std::vector<int64_t>& acc, int64_t rows, std::vector<int32_t>& codes) {
    const size_t C = ch.size();
    codes.resize(static_cast<size_t>(rows) * C);
    for (int64_t r = 0; r < rows; ++r)
      for (size_t c = 0; c < C; ++c) {
        const float y = static_cast<float>(double(ch[c].s) * double(acc[r * C + c])) + ch[c].t;
        const float z = y * a[c] + b[c];
        if (bits == 1) {
          const float h = std::min(std::max(z, -1.0f), 1.0f);
          codes[r * C + c] = h < 0.0f ? -1 : 1;
        } else {
          const float n = static_cast<float>((1 << bits) - 1);
          codes[r * C + c] = static_cast<int32_t>(quant::round_code(std::min(std::max(z * n, 0.0f), n)));
        }
      }
  };
}

std::vector<Channel> random_channels(int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<Channel> ch;
  for (int i = 0; i < n; ++i) {
    Channel c;
    c.s = rng.uniform(0.001f, 0.05f);
    c.t = rng.uniform(-0.2f, 0.2f);
    c.gamma = rng.uniform(0.2f, 2.0f) * (i % 3 == 1 ? -1.0f : 1.0f);  // every third channel negative
    if (i % 7 == 6) c.gamma = 0.0f;
    c.beta = rng.uniform(-0.5f, 0.8f);
    c.mean = rng.uniform(-1.0f, 1.0f);
    c.var = rng.uniform(0.05f, 3.0f);
    ch.push_back(c);
  }
  return ch;
}

}  // namespace

TEST_CASE("fold: binary thresholds equal the derivation, negative gamma flips the direction") {
  const std::vector<Channel> ch = random_channels(21, 11);
  const int64_t bound = 576;  // a 3x3x64 binary conv
  const Thresholds th = search_thresholds(21, bound, -1, 2, float_chain(ch, 1), "test");
  for (size_t c = 0; c < ch.size(); ++c) {
    std::vector<int64_t> tau;
    const int8_t dir = real_thresholds(ch[c].s, ch[c].t, ch[c].gamma, ch[c].beta, ch[c].mean, ch[c].var, 1e-5, {0.0},
                                       tau);
    CAPTURE(c);
    if (dir == 0) {  // γ = 0: constant sign(β)
      const int32_t T = th.t[c];
      CHECK((T == kThresholdAlways || T == kThresholdNever));
      CHECK(th.dir[c] == 1);
      CHECK((T == kThresholdAlways) == (ch[c].beta >= 0.0f));
      continue;
    }
    CHECK(th.dir[c] == dir);
    const int32_t T = th.t[c];
    if (T == kThresholdAlways || T == kThresholdNever) {  // τ outside the accumulator range
      CHECK(std::llabs(tau[0]) >= bound - 1);
      continue;
    }
    CHECK(std::llabs(int64_t(T) - tau[0]) <= 1);
  }
}

TEST_CASE("fold: 2-bit DoReFa requantisation thresholds reproduce every accumulator's code") {
  const std::vector<Channel> ch = random_channels(16, 5);
  const int64_t bound = 2592;  // 3x3x64 taps, |v| ≤ 3 (2-bit DoReFa weights), codes ≤ 3... scaled down
  const CodeChain chain = float_chain(ch, 2);
  const Thresholds th = search_thresholds(16, bound, 0, 4, chain, "test");
  // Dense check over the whole range (search_thresholds verified too; this is the test's own loop).
  std::vector<int64_t> acc;
  for (int64_t a = -bound; a <= bound; ++a)
    for (size_t c = 0; c < ch.size(); ++c) acc.push_back(a);
  std::vector<int32_t> codes;
  chain(acc, 2 * bound + 1, codes);
  int64_t mismatches = 0;
  for (int64_t r = 0; r <= 2 * bound; ++r)
    for (size_t c = 0; c < ch.size(); ++c)
      mismatches += threshold_level(r - bound, th.dir[c], th.t.data() + c * 3, 4) != codes[r * ch.size() + c];  // code = level
  CHECK(mismatches == 0);
  // The derivation: θ_j = (j − ½)/3 in the clip's range.
  for (size_t c = 0; c < ch.size(); ++c) {
    std::vector<int64_t> tau;
    const int8_t dir =
        real_thresholds(ch[c].s, ch[c].t, ch[c].gamma, ch[c].beta, ch[c].mean, ch[c].var, 1e-5, {0.5 / 3, 1.5 / 3, 2.5 / 3}, tau);
    if (dir == 0) continue;
    CHECK(th.dir[c] == dir);
    for (int j = 0; j < 3; ++j) {
      const int32_t T = th.t[c * 3 + j];
      if (T == kThresholdAlways || T == kThresholdNever) continue;
      CAPTURE(c);
      CAPTURE(j);
      CHECK(std::llabs(int64_t(T) - tau[j]) <= 1);
    }
  }
}

TEST_CASE("fold: a chain that is not monotone is refused naming the layer") {
  const CodeChain bad = [](const std::vector<int64_t>& acc, int64_t, std::vector<int32_t>& codes) {
    codes.resize(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) codes[i] = (acc[i] % 2 == 0) ? 1 : -1;
  };
  CHECK_THROWS_WITH_AS(search_thresholds(1, 50, -1, 2, bad, "layer9.conv"), doctest::Contains("layer9.conv"), Error);
}

TEST_CASE("fold: one-step affine equals scale then BatchNorm in real arithmetic") {
  std::vector<float> s{0.5f, 0.25f}, t{0.1f, -0.2f}, a{2.0f, -1.0f}, b{0.0f, 0.5f}, S, T;
  folded_affine(s, t, a, b, S, T);
  CHECK(S[0] == doctest::Approx(1.0));
  CHECK(T[0] == doctest::Approx(0.2));
  CHECK(S[1] == doctest::Approx(-0.25));
  CHECK(T[1] == doctest::Approx(0.7));
}
