// Each quantizer's forward values and surrogate gradients against its formula on hand-made inputs, including
// 0, ±1, the clip bounds and rounding ties; the number of distinct values; codes·scale == value.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "quant/rules.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {

Var leaf(const std::vector<float>& v, Shape shape = Shape()) {
  if (shape.rank() == 0) shape = Shape{static_cast<int64_t>(v.size())};
  return Var(Tensor::from(shape, v), true);
}

std::vector<float> values(const Var& v) { return v.value().to_vector(); }

// Backpropagates `upstream` (same shape as q.value) and returns the leaf's gradient.
std::vector<float> grad_of(Var& leaf_var, Var out, const std::vector<float>& upstream) {
  out.backward(Tensor::from(out.shape(), upstream));
  return leaf_var.grad().to_vector();
}

void check_codes_match(const Quantized& q) {
  REQUIRE(q.codes.defined());
  const Tensor d = q.codes.dequantize();
  for (int64_t i = 0; i < d.numel(); ++i) CHECK(d[i] == q.value.value()[i]);  // bit-identical
  for (int16_t c : q.codes.code) {
    CHECK(c >= q.codes.qmin());
    CHECK(c <= q.codes.qmax());
  }
}

size_t distinct(const Var& v) {
  std::set<float> s;
  for (float x : values(v)) s.insert(x);
  return s.size();
}

std::vector<float> random_values(int n, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

}  // namespace

TEST_CASE("round_code rounds half to even") {
  CHECK(round_code(0.5f) == 0.0f);
  CHECK(round_code(1.5f) == 2.0f);
  CHECK(round_code(2.5f) == 2.0f);
  CHECK(round_code(-0.5f) == 0.0f);
  CHECK(round_code(-1.5f) == -2.0f);
  CHECK(round_code(0.49999997f) == 0.0f);
}

TEST_CASE("round_code equals std::nearbyint on |x| <= 2^22: every half, near-halves and random values") {
  int64_t mismatches = 0;
  auto check = [&](float x) {
    if (round_code(x) != std::nearbyint(x)) ++mismatches;
  };
  for (int k = -600; k <= 600; ++k) {  // halves and their neighbours one ulp away
    const float h = 0.5f * static_cast<float>(k);
    check(h), check(std::nextafter(h, 1e9f)), check(std::nextafter(h, -1e9f));
  }
  const float lim = 4194304.0f;  // 2^22
  for (float x : {lim, -lim, lim - 0.5f, -(lim - 0.5f), lim - 1.5f, 255.5f, 254.5f, -127.5f}) check(x);
  Rng rng(11);
  for (int i = 0; i < 200000; ++i) check(rng.uniform(-300.0f, 300.0f));
  for (int i = 0; i < 20000; ++i) check(rng.uniform(-lim, lim));
  CHECK(mismatches == 0);
}

TEST_CASE("dorefa k-bit weights: values follow 2*q_k(tanh(w)/(2max|tanh w|)+1/2)-1") {
  const std::vector<float> w = {0.0f, 0.5f, -1.0f, 2.0f, -0.25f, 1.0f, -3.0f};
  for (int k : {2, 3, 4, 8}) {
    Var wv = leaf(w);
    Quantized q = dorefa_weight(wv, k);
    const double n = (1 << k) - 1;
    double M = 0;
    for (float x : w) M = std::max(M, std::fabs(std::tanh(double(x))));
    for (size_t i = 0; i < w.size(); ++i) {
      const double u = std::tanh(double(w[i])) / (2 * M) + 0.5;
      const double expect = 2 * std::nearbyint(n * u) / n - 1;
      CHECK(q.value.value()[i] == doctest::Approx(expect).epsilon(1e-6));
    }
    CHECK(distinct(q.value) <= (1u << k));
    check_codes_match(q);
    // Most negative weight maps to −1, most positive tanh magnitude stays the largest value.
    CHECK(q.value.value()[6] == doctest::Approx(-1.0));
  }
}

TEST_CASE("dorefa k-bit weights: gradient = autograd through tanh and max with STE on the round") {
  const std::vector<float> w = {0.3f, -0.7f, 1.2f, -1.5f, 0.05f, 0.0f};
  const std::vector<float> g = {0.5f, -1.0f, 2.0f, 0.25f, -0.3f, 1.0f};
  Var w1 = leaf(w);
  const std::vector<float> got = grad_of(w1, dorefa_weight(w1, 3).value, g);
  // Same function without the round, built from engine ops: 2·(tanh(w)/(2·max|tanh w|) + 1/2) − 1.
  Var w2 = leaf(w);
  Var t = lowbit::tanh(w2);
  Var u = div(t, mul(max_all(lowbit::abs(t)), 2.0f)) + 0.5f;
  const std::vector<float> expect = grad_of(w2, u * 2.0f + (-1.0f), g);
  for (size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(expect[i]).epsilon(1e-5));
  // The argmax (−1.5) receives the max term: its gradient differs from the plain 2g(1−t²)/(2M).
  const double M = std::tanh(1.5), t3 = std::tanh(-1.5);
  CHECK(got[3] != doctest::Approx(2 * g[3] * (1 - t3 * t3) / (2 * M)));
}

TEST_CASE("dorefa k-bit weights: all-zero tensor gives 1/n and zero gradient") {
  Var w = leaf({0.0f, 0.0f, 0.0f});
  Quantized q = dorefa_weight(w, 2);
  for (float v : values(q.value)) CHECK(v == doctest::Approx(1.0 / 3.0));
  for (float gv : grad_of(w, q.value, {1.0f, 1.0f, 1.0f})) CHECK(gv == 0.0f);
}

TEST_CASE("dorefa 1-bit weights: sign(w)*E|w|, sign(0)=+1, identity gradient") {
  Var w = leaf({0.0f, -2.0f, 1.0f, 0.5f});
  Quantized q = dorefa_weight(w, 1);
  const float E = (0.0f + 2.0f + 1.0f + 0.5f) / 4.0f;
  CHECK(values(q.value) == std::vector<float>{E, -E, E, E});
  CHECK(q.codes.format == CodeFormat::binary);
  check_codes_match(q);
  CHECK(grad_of(w, q.value, {1, 2, 3, 4}) == std::vector<float>{1, 2, 3, 4});
}

TEST_CASE("dorefa activations: q_k(clip(x,0,1)), ties to even, inclusive clip gradient") {
  Var x = leaf({-0.5f, 0.0f, 0.5f, 1.0f, 1.5f, 0.25f, 0.75f});
  Quantized q1 = dorefa_activation(x, 1);
  // n = 1: 0.5 is a tie -> 0 (even); 0.75 -> 1.
  CHECK(values(q1.value) == std::vector<float>{0, 0, 0, 1, 1, 0, 1});
  check_codes_match(q1);
  Var x2 = leaf({-0.5f, 0.0f, 0.5f, 1.0f, 1.5f, 0.25f, 0.75f});
  Quantized q2 = dorefa_activation(x2, 2);  // n = 3
  const std::vector<float> v2 = values(q2.value);
  CHECK(v2[0] == 0.0f);
  CHECK(v2[2] == doctest::Approx(2.0 / 3.0));  // 1.5 -> 2 (even)
  CHECK(v2[3] == doctest::Approx(1.0));
  CHECK(v2[4] == doctest::Approx(1.0));
  CHECK(v2[5] == doctest::Approx(1.0 / 3.0));  // 0.75 -> 1
  CHECK(v2[6] == doctest::Approx(2.0 / 3.0));  // 2.25 -> 2
  CHECK(grad_of(x2, q2.value, {1, 1, 1, 1, 1, 1, 1}) == std::vector<float>{0, 1, 1, 1, 0, 1, 1});
  for (int k = 1; k <= 8; ++k) {
    Var xr = leaf(random_values(4000, 7 + k, -0.5f, 1.5f));
    Quantized q = dorefa_activation(xr, k);
    CHECK(distinct(q.value) <= (1u << k));
    CHECK(distinct(q.value) == std::min<size_t>(1u << k, 4000));
  }
}

TEST_CASE("dorefa gradient quantization: identity forward, seeded, k-bit levels, unbiased") {
  const std::vector<float> xv = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  const std::vector<float> g = {0.4f, -1.0f, 0.1f, 0.0f, 0.0f, 0.0f};  // sample 1 all zero
  auto run = [&](uint64_t seed) {
    Rng rng(seed);
    Var x(Tensor::from(Shape{2, 3}, xv), true);
    Var y = dorefa_quantize_grad(x, 2, rng);
    CHECK(values(y) == xv);
    y.backward(Tensor::from(Shape{2, 3}, g));
    return x.grad().to_vector();
  };
  CHECK(run(42) == run(42));
  const float m = 1.0f, n = 3.0f;
  std::vector<double> mean(6, 0.0);
  const int trials = 4000;
  for (int t = 0; t < trials; ++t) {
    const std::vector<float> gq = run(1000 + t);
    for (int i = 0; i < 3; ++i) {
      // levels 2m(j/n − 1/2), j = 0..n
      const double j = (gq[i] / (2 * m) + 0.5) * n;
      CHECK(std::fabs(j - std::nearbyint(j)) < 1e-4);
      mean[i] += gq[i] / trials;
    }
    for (int i = 3; i < 6; ++i) CHECK(gq[i] == 0.0f);
    CHECK(gq[1] == doctest::Approx(-1.0));  // at −m: u = 0 − noise, clipped to [0, 1] -> level 0
  }
  for (int i = 0; i < 3; ++i) CHECK(std::fabs(mean[i] - g[i]) < 0.02);  // ≈ 4σ of a 4000-draw mean
}

TEST_CASE("bnn sign: sign(0)=+1, hardtanh STE inclusive at ±1, weight clamp") {
  Var x = leaf({-2.0f, -1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 2.0f});
  Quantized q = bnn_sign(x);
  CHECK(values(q.value) == std::vector<float>{-1, -1, -1, 1, 1, 1, 1});
  check_codes_match(q);
  CHECK(grad_of(x, q.value, {1, 2, 3, 4, 5, 6, 7}) == std::vector<float>{0, 2, 3, 4, 5, 6, 0});
  Var w = leaf({-3.0f, -0.5f, 0.0f, 1.0f, 7.0f});
  bnn_clamp_weights(w);
  CHECK(values(w) == std::vector<float>{-1.0f, -0.5f, 0.0f, 1.0f, 1.0f});
}

TEST_CASE("xnor weights: per-filter alpha=mean|W|, gradient g*(1/n + alpha*1[|W|<=1])") {
  Var w = leaf({0.5f, -1.5f, 0.0f, 1.0f, -0.2f, 0.2f}, Shape{2, 3});
  Quantized q = xnor_weight(w);
  const float a0 = (0.5f + 1.5f + 0.0f) / 3, a1 = (1.0f + 0.2f + 0.2f) / 3;
  const std::vector<float> ev = {a0, -a0, a0, a1, -a1, a1};
  for (int i = 0; i < 6; ++i) CHECK(q.value.value()[i] == doctest::Approx(ev[i]));
  CHECK(q.codes.per_channel());
  check_codes_match(q);
  const std::vector<float> g = {1, 1, 1, 2, 2, 2};
  const std::vector<float> got = grad_of(w, q.value, g);
  const std::vector<float> expect = {1.0f / 3 + a0, 1.0f / 3, 1.0f / 3 + a0, 2 * (1.0f / 3 + a1),
                                     2 * (1.0f / 3 + a1), 2 * (1.0f / 3 + a1)};
  for (int i = 0; i < 6; ++i) CHECK(got[i] == doctest::Approx(expect[i]));
}

TEST_CASE("xnor input scale: box filter over the channel mean of |x|") {
  // 1 sample, 2 channels, 2x2; 2x2 kernel, stride 1, pad 0 -> one output = mean of everything's |x|.
  Var x(Tensor::from(Shape{1, 2, 2, 2}, {1, -2, 3, -4, 0, 0, 0, 8}), false);
  Var K = xnor_input_scale_conv(x, 2, 2, 1, 1, 0, 0);
  REQUIRE(K.shape() == Shape{1, 1, 1, 1});
  CHECK(K.value()[0] == doctest::Approx((1 + 2 + 3 + 4 + 8) / 8.0));
  Var xl(Tensor::from(Shape{2, 2}, {1, -3, 0, 4}), false);
  CHECK(values(xnor_input_scale_linear(xl)) == std::vector<float>{2, 2});
}

TEST_CASE("twn: delta=0.7 mean|W|, alpha over |W|>delta, three values, STE") {
  Var w = leaf({0.1f, -0.9f, 0.5f, 0.0f, -0.3f, 1.2f});
  Quantized q = twn_weight(w);
  // mean|W| = 0.5, Δ = 0.35; above: 0.9, 0.5, 1.2 -> α = 2.6/3
  const float a = 2.6f / 3;
  const std::vector<float> v = values(q.value);
  const std::vector<float> expect = {0, -a, a, 0, 0, a};
  for (int i = 0; i < 6; ++i) CHECK(v[i] == doctest::Approx(expect[i]));
  CHECK(std::vector<int16_t>(q.codes.code.begin(), q.codes.code.end()) == std::vector<int16_t>{0, -1, 1, 0, 0, 1});
  check_codes_match(q);
  CHECK(grad_of(w, q.value, {1, 2, 3, 4, 5, 6}) == std::vector<float>{1, 2, 3, 4, 5, 6});
  Var wr = leaf(random_values(1000, 3, -1, 1));
  CHECK(distinct(twn_weight(wr).value) == 3);
}

TEST_CASE("lsq: signed and unsigned ranges, ties, clipping and the step gradient") {
  CHECK(lsq_range(2, true).qn == 2);
  CHECK(lsq_range(2, true).qp == 1);
  CHECK(lsq_range(3, false).qn == 0);
  CHECK(lsq_range(3, false).qp == 7);
  CHECK_THROWS_AS(lsq_range(1, true), Error);
  CHECK_THROWS_AS(lsq_range(9, false), Error);
  CHECK(lsq_grad_scale(16, 3, true) == doctest::Approx(1.0 / std::sqrt(16.0 * 3)));

  // signed 3 bit: codes in [−4, 3]; s = 1
  Var v = leaf({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 3.0f, 5.0f, -4.0f, -6.0f, 0.2f});
  Var s = leaf({1.0f});
  const float gs = 0.5f;
  Quantized q = lsq_quantize(v, s, 3, true, gs);
  CHECK(values(q.value) == std::vector<float>{0, 2, 2, 0, -2, 3, 3, -4, -4, 0});
  check_codes_match(q);
  q.value.backward(Tensor::full(Shape{10}, 1.0f));
  // inside strictly between −4 and 3; the bound values 3.0 and −4.0 count as clipped
  CHECK(v.grad().to_vector() == std::vector<float>{1, 1, 1, 1, 1, 0, 0, 0, 0, 1});
  // s-gradient terms: round(r) − r inside, Q_P = 3 at/above, −Q_N = −4 at/below
  const double terms = (0 - 0.5) + (2 - 1.5) + (2 - 2.5) + (0 + 0.5) + (-2 + 1.5) + 3 + 3 - 4 - 4 + (0 - 0.2);
  CHECK(s.grad()[0] == doctest::Approx(gs * terms).epsilon(1e-5));

  // unsigned 2 bit with s = 0.5: codes 0..3
  Var a = leaf({-1.0f, 0.0f, 0.3f, 0.75f, 2.0f});
  Var sa = leaf({0.5f});
  Quantized qa = lsq_quantize(a, sa, 2, false, 1.0f);
  CHECK(values(qa.value) == std::vector<float>{0, 0, 0.5f, 1.0f, 1.5f});  // 0.6 -> 1, 1.5 -> 2 (even), 4 -> 3
  CHECK(distinct(qa.value) <= 4);
  CHECK_THROWS_AS(lsq_quantize(a, leaf({0.0f}), 2, false, 1.0f), Error);

  Tensor t = Tensor::from(Shape{4}, {1, -1, 2, -2});
  CHECK(lsq_init_step(t, 3, true) == doctest::Approx(2 * 1.5 / std::sqrt(3.0)));
}

TEST_CASE("pact: clip(x,0,alpha) quantized, g_x strict inside, g_alpha at x>=alpha, decay gradient") {
  Var x = leaf({-1.0f, 0.0f, 0.5f, 1.5f, 2.5f, 3.0f, 4.0f});
  Var alpha = leaf({3.0f});
  Quantized q = pact_activation(x, alpha, 2);  // n = 3, step α/n = 1
  CHECK(values(q.value) == std::vector<float>{0, 0, 0, 2, 2, 3, 3});  // 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 (even)
  check_codes_match(q);
  q.value.backward(Tensor::from(Shape{7}, {1, 2, 3, 4, 5, 6, 7}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 3, 4, 5, 0, 0});
  CHECK(alpha.grad()[0] == doctest::Approx(6 + 7));
  Var a2 = leaf({2.0f});
  Var pen = pact_alpha_penalty(a2, 0.1f);
  CHECK(pen.value().item() == doctest::Approx(0.5 * 0.1 * 4));
  pen.backward();
  CHECK(a2.grad()[0] == doctest::Approx(0.1 * 2));
  CHECK_THROWS_AS(pact_activation(x, leaf({-1.0f}), 2), Error);
  for (int k = 1; k <= 8; ++k) {
    Var xr = leaf(random_values(3000, 11 + k, -1, 10));
    CHECK(distinct(pact_activation(xr, leaf({8.0f}), k).value) <= (1u << k));
  }
}

TEST_CASE("rules reject bad bit widths and empty inputs with lowbit::Error") {
  Var w = leaf({1.0f, 2.0f});
  CHECK_THROWS_AS(dorefa_weight(w, 0), Error);
  CHECK_THROWS_AS(dorefa_weight(w, 9), Error);
  CHECK_THROWS_AS(dorefa_activation(w, 0), Error);
  CHECK_THROWS_AS(bnn_sign(Var()), Error);
  CHECK_THROWS_AS(xnor_weight(w), Error);  // rank 1: no output axis
}

TEST_CASE("image_input_u8: a normalised 8-bit image gets its pixel bytes back as codes") {
  const float mu = 0.2860f, sd = 0.3530f;  // Fashion-MNIST's statistics
  std::vector<float> x;
  for (int p = 0; p < 256; ++p) x.push_back((float(p) / 255.0f - mu) / sd);
  Var v = leaf(x);
  const InputRange r = image_input_range(v.value());
  CHECK(r.lo == x.front());
  CHECK(r.hi == x.back());
  const Quantized q = image_input_u8(v, r);
  check_codes_match(q);
  CHECK(q.codes.bits == 8);
  CHECK(q.codes.zero_point == std::nearbyint(255.0f * mu));  // an integer: 0 is exactly representable
  for (int p = 0; p < 256; ++p) CHECK(q.codes.code[p] == p);
  for (int p = 0; p < 256; ++p) CHECK(std::fabs(q.value.value()[p] - x[p]) <= 0.5f * q.codes.scale[0]);
  // Zero maps to the zero point exactly; out-of-range values clamp and stop the gradient.
  Var z = leaf({0.0f, -100.0f, 100.0f, 0.5f});
  const Quantized qz = image_input_u8(z, r);
  CHECK(qz.value.value()[0] == 0.0f);
  CHECK(qz.codes.code[1] == 0);
  CHECK(qz.codes.code[2] == 255);
  CHECK(grad_of(z, qz.value, {1, 1, 1, 1}) == std::vector<float>{1, 0, 0, 1});
  // Ranges always contain 0; a constant input gets a unit-wide range; a range without 0 is refused.
  const InputRange pos = image_input_range(Tensor::full(Shape{3}, 2.0f));
  CHECK(pos.lo == 0.0f);
  CHECK(pos.hi == 2.0f);
  const InputRange zero = image_input_range(Tensor::zeros(Shape{3}));
  CHECK(zero.hi - zero.lo == 1.0f);
  CHECK_THROWS_AS(image_input_u8(z, InputRange{0.5f, 1.0f}), Error);
}

TEST_CASE("bnn sign and dorefa activations: inputs all inside the STE window pass the gradient through unchanged") {
  // All inside, bounds included: the backward skips the masking pass and must still equal the formula.
  Var x = leaf({-1.0f, -0.5f, 0.0f, 0.25f, 1.0f});
  Quantized q = bnn_sign(x);
  CHECK(grad_of(x, q.value, {1, 2, 3, 4, 5}) == std::vector<float>{1, 2, 3, 4, 5});
  Var xd = leaf({0.0f, 0.5f, 1.0f, 0.75f});
  Quantized qd = dorefa_activation(xd, 2);
  CHECK(grad_of(xd, qd.value, {1, 2, 3, 4}) == std::vector<float>{1, 2, 3, 4});
  // Large enough for the threaded loop: one value outside the window, in the last thread's range, is masked.
  const int64_t n = 300000;
  for (bool dorefa : {false, true}) {
    CAPTURE(dorefa);
    std::vector<float> v = random_values(n, 3, dorefa ? 0.0f : -1.0f, 1.0f);
    v[n - 2] = dorefa ? 1.5f : -1.5f;
    Var xl = leaf(v);
    Quantized ql = dorefa ? dorefa_activation(xl, 2) : bnn_sign(xl);
    const std::vector<float> g = grad_of(xl, ql.value, std::vector<float>(static_cast<size_t>(n), 2.0f));
    CHECK(g[n - 2] == 0.0f);
    CHECK(g[0] == 2.0f);
    CHECK(g[n - 1] == 2.0f);
  }
}
