// fvec (kernels/fvec/fvec.h): every ISA variant this build and CPU run equals the scalar reference bit for bit
// (sums, outputs, window bytes and stored gradients), on random ragged sizes around the 16-value blocks and the
// 1024-value chunks, from unaligned starts, with signed zeros, infinities, NaN and values on the clamp bounds;
// and the reference agrees with a double-precision sum and with the formulas of fvec.h.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/fvec/fvec.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

namespace {

// Equal bits, or both NaN (NaN payloads may differ between a vector and a scalar add).
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

size_t ragged_size(Rng& rng) {
  switch (rng.uniform(0, 3)) {
    case 0: return rng.size(0, 40);
    case 1: return 16 * rng.size(1, 70) + rng.size(0, 2) - 1;  // around the 16-value blocks
    case 2: return 1024 * rng.size(1, 2) + rng.size(0, 40) - 20;  // around the chunks
    default: return rng.size(0, 2600);
  }
}

// n values in [−3, 3], some exactly lo or hi, some ±0; `specials` adds ±inf and NaN.
std::vector<float> values(Rng& rng, size_t n, float lo, float hi, bool specials) {
  std::vector<float> v(n);
  for (auto& x : v) {
    const int k = rng.uniform(0, 99);
    x = k == 0 ? lo : k == 1 ? hi : k == 2 ? 0.0f : k == 3 ? -0.0f : rng.real(-3.0f, 3.0f);
    if (specials && k == 4) x = std::numeric_limits<float>::quiet_NaN();
    if (specials && k == 5) x = rng.uniform(0, 1) ? std::numeric_limits<float>::infinity()
                                                  : -std::numeric_limits<float>::infinity();
  }
  return v;
}

std::vector<uint8_t> window(Rng& rng, size_t n) {
  std::vector<uint8_t> w(n);
  for (auto& b : w) b = static_cast<uint8_t>(rng.uniform(0, 1));
  return w;
}

}  // namespace

TEST_CASE("fvec bn_shifted_sums: every ISA equals ref bit for bit, ref agrees with a double sum") {
  Rng rng(21);
  const FvecKernels* ref = fvec_kernels_for(Isa::ref);
  for (int iter = 0; iter < 400; ++iter) {
    const size_t n = ragged_size(rng), off = rng.size(0, 3);
    const bool specials = iter % 5 == 0;
    const std::vector<float> x = values(rng, n + off, -1.0f, 1.0f, specials);
    const float k = n ? x[off] : 0.5f;
    double r1 = 0, r2 = 0;
    ref->bn_shifted_sums(x.data() + off, static_cast<int64_t>(n), k, &r1, &r2);
    if (!specials) {
      double e1 = 0, e2 = 0, mag = 0;
      for (size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[off + i]) - k;
        e1 += d, e2 += d * d, mag += std::fabs(d) + d * d;
      }
      CHECK(std::fabs(r1 - e1) <= 1e-6 * (mag + 1));
      CHECK(std::fabs(r2 - e2) <= 1e-6 * (mag + 1));
    }
    for (Isa isa : isas_with(fvec_kernels_for)) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      double s1 = -1, s2 = -1;
      fvec_kernels_for(isa)->bn_shifted_sums(x.data() + off, static_cast<int64_t>(n), k, &s1, &s2);
      CHECK(same(s1, r1));
      CHECK(same(s2, r2));
    }
  }
}

TEST_CASE("fvec bn_affine: every ISA equals ref bit for bit (outputs and window bytes), each act, ± residual") {
  Rng rng(22);
  const FvecKernels* ref = fvec_kernels_for(Isa::ref);
  for (int iter = 0; iter < 600; ++iter) {
    const size_t n = ragged_size(rng), off = rng.size(0, 3);
    const BnAct act = static_cast<BnAct>(iter % 3);
    const bool res = iter % 2 == 0, specials = iter % 7 == 0;
    const float a = rng.real(-2.0f, 2.0f), b = rng.real(-1.0f, 1.0f);
    const float lo = act == BnAct::clamp ? rng.real(-1.5f, 0.0f) : 0.0f, hi = lo + rng.real(0.5f, 2.0f);
    // With a = 1, b = 0 and no residual, inputs on lo / hi land exactly on the bounds.
    const bool exact = iter % 11 == 0;
    const std::vector<float> x = values(rng, n + off, lo, hi, specials), r = values(rng, n + off, lo, hi, specials);
    const float* rp = res && !exact ? r.data() + off : nullptr;
    std::vector<float> y0(n + off, 7.0f);
    std::vector<uint8_t> w0(n + off, 9);
    ref->bn_affine(x.data() + off, rp, y0.data() + off, w0.data() + off, static_cast<int64_t>(n), exact ? 1.0f : a,
                   exact ? 0.0f : b, act, lo, hi);
    for (size_t i = 0; i < n; ++i) {
      if (act == BnAct::none) REQUIRE(w0[off + i] == 9);  // no window written
      else REQUIRE(w0[off + i] <= 1);
      if (act == BnAct::clamp && exact && (x[off + i] == lo || x[off + i] == hi)) REQUIRE(w0[off + i] == 1);
    }
    for (Isa isa : isas_with(fvec_kernels_for)) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      CAPTURE(static_cast<int>(act));
      std::vector<float> y1(n + off, 7.0f);
      std::vector<uint8_t> w1(n + off, 9);
      fvec_kernels_for(isa)->bn_affine(x.data() + off, rp, y1.data() + off, w1.data() + off, static_cast<int64_t>(n),
                                       exact ? 1.0f : a, exact ? 0.0f : b, act, lo, hi);
      for (size_t i = 0; i < n + off; ++i) {
        REQUIRE(same(y1[i], y0[i]));
        REQUIRE(w1[i] == w0[i]);
      }
    }
  }
}

TEST_CASE("fvec bn_grad_sums and bn_grad_apply: every ISA equals ref bit for bit, with and without window") {
  Rng rng(23);
  const FvecKernels* ref = fvec_kernels_for(Isa::ref);
  for (int iter = 0; iter < 600; ++iter) {
    const size_t n = ragged_size(rng), off = rng.size(0, 3);
    const bool masked = iter % 2 == 0, store = iter % 4 < 2, specials = iter % 7 == 0;
    const std::vector<float> g = values(rng, n + off, -1.0f, 1.0f, specials);
    const std::vector<float> x = values(rng, n + off, -1.0f, 1.0f, specials);
    const std::vector<uint8_t> w = window(rng, n + off);
    const uint8_t* wp = masked ? w.data() + off : nullptr;
    const float mu = rng.real(-0.5f, 0.5f), k1 = rng.real(-2.0f, 2.0f), k2 = rng.real(-1.0f, 1.0f),
                k3 = rng.real(-1.0f, 1.0f);
    std::vector<float> gz0(n + off, 5.0f), dx0(n + off, 5.0f);
    double sg0 = 3, sgx0 = 3;
    ref->bn_grad_sums(g.data() + off, wp, x.data() + off, store ? gz0.data() + off : nullptr,
                      static_cast<int64_t>(n), mu, &sg0, &sgx0);
    ref->bn_grad_apply(g.data() + off, wp, x.data() + off, dx0.data() + off, static_cast<int64_t>(n), k1, k2, k3);
    if (!specials) {
      double e1 = 0, e2 = 0, mag = 0;
      for (size_t i = 0; i < n; ++i) {
        const double gv = wp && !wp[i] ? 0.0 : g[off + i];
        e1 += gv, e2 += gv * (x[off + i] - mu), mag += std::fabs(gv) * (1 + std::fabs(x[off + i] - mu));
        if (store) REQUIRE(gz0[off + i] == static_cast<float>(gv));
      }
      CHECK(std::fabs(sg0 - e1) <= 1e-6 * (mag + 1));
      CHECK(std::fabs(sgx0 - e2) <= 1e-6 * (mag + 1));
    }
    for (Isa isa : isas_with(fvec_kernels_for)) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      CAPTURE(masked);
      std::vector<float> gz1(n + off, 5.0f), dx1(n + off, 5.0f);
      double sg1 = -3, sgx1 = -3;
      const FvecKernels* t = fvec_kernels_for(isa);
      t->bn_grad_sums(g.data() + off, wp, x.data() + off, store ? gz1.data() + off : nullptr,
                      static_cast<int64_t>(n), mu, &sg1, &sgx1);
      t->bn_grad_apply(g.data() + off, wp, x.data() + off, dx1.data() + off, static_cast<int64_t>(n), k1, k2, k3);
      CHECK(same(sg1, sg0));
      CHECK(same(sgx1, sgx0));
      for (size_t i = 0; i < n + off; ++i) {
        REQUIRE(same(gz1[i], gz0[i]));
        REQUIRE(same(dx1[i], dx0[i]));
      }
    }
  }
}

TEST_CASE("fvec maps (add, relu, clamp, relu_grad, window_grad): every ISA equals ref bit for bit") {
  Rng rng(24);
  const FvecKernels* ref = fvec_kernels_for(Isa::ref);
  for (int iter = 0; iter < 500; ++iter) {
    const size_t n = ragged_size(rng), off = rng.size(0, 3);
    const float lo = rng.real(-1.5f, 0.5f), hi = lo + rng.real(0.25f, 2.0f);
    const float d = iter % 3 == 0 ? 1.0f : rng.real(0.05f, 2.0f);
    const bool open = iter % 2 == 1, specials = iter % 5 == 0;
    const std::vector<float> a = values(rng, n + off, lo, hi, specials), b = values(rng, n + off, lo, hi, specials);
    // out[k][i]: k = add, relu, clamp, relu_grad, window_grad
    auto run = [&](const FvecKernels* t) {
      std::vector<std::vector<float>> out(5, std::vector<float>(n + off, 4.0f));
      const int64_t m = static_cast<int64_t>(n);
      t->add(a.data() + off, b.data() + off, out[0].data() + off, m);
      t->relu(a.data() + off, out[1].data() + off, m);
      t->clamp(a.data() + off, out[2].data() + off, m, lo, hi);
      t->relu_grad(a.data() + off, b.data() + off, out[3].data() + off, m);
      t->window_grad(a.data() + off, b.data() + off, out[4].data() + off, m, d, lo, hi, open);
      return out;
    };
    const auto r = run(ref);
    for (size_t i = 0; i < n; ++i) {  // the reference against the formulas of fvec.h
      const float x = a[off + i], y = b[off + i], t = y / d;
      REQUIRE(same(r[1][off + i], x > 0.0f ? x : 0.0f));
      REQUIRE(same(r[2][off + i], std::isnan(x) ? x : std::min(std::max(x, lo), hi)));
      REQUIRE(same(r[4][off + i], (open ? lo < t && t < hi : lo <= t && t <= hi) ? x : 0.0f));
    }
    for (Isa isa : isas_with(fvec_kernels_for)) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      const auto o = run(fvec_kernels_for(isa));
      for (int k = 0; k < 5; ++k)
        for (size_t i = 0; i < n + off; ++i) {
          CAPTURE(k);
          REQUIRE(same(o[k][i], r[k][i]));
        }
    }
  }
}

TEST_CASE("fvec quantize: every kind and window, every ISA equals ref bit for bit (codes, values, window)") {
  Rng rng(25);
  const FvecKernels* ref = fvec_kernels_for(Isa::ref);
  for (int iter = 0; iter < 800; ++iter) {
    const size_t n = ragged_size(rng), off = rng.size(0, 3);
    QuantizeParams p;
    p.kind = static_cast<QuantKind>(iter % 4);
    p.window = static_cast<WindowKind>((iter / 4) % 3);
    const float levels = static_cast<float>((1 << rng.uniform(1, 8)) - 1);
    p.m = p.kind == QuantKind::mul_clamp ? levels : rng.real(0.01f, 1.0f);
    p.d = rng.real(0.1f, 3.0f);
    p.lo = p.kind == QuantKind::clamp_mul ? 0.0f : -static_cast<float>(rng.uniform(0, 128));
    p.hi = p.kind == QuantKind::clamp_mul ? p.d : levels;
    if (p.kind == QuantKind::clamp_mul) p.m = levels;
    p.add = iter % 8 < 4 ? 0.0f : static_cast<float>(rng.uniform(0, 128));
    p.scale = rng.real(0.01f, 1.0f);
    p.zero_point = static_cast<float>(rng.uniform(0, 8));
    p.wlo = rng.real(-1.0f, 0.0f);
    p.whi = rng.real(0.5f, 1.0f);
    // Values inside the window (so all-pass happens) or spread wider, with ±0, ±inf and window bounds.
    const bool narrow = iter % 3 == 0;
    std::vector<float> x = values(rng, n + off, p.wlo, p.whi, false);
    for (auto& v : x) {
      if (narrow) v = std::min(std::max(v, p.wlo), p.whi);
      else if (rng.uniform(0, 50) == 0) v = rng.uniform(0, 1) ? std::numeric_limits<float>::infinity()
                                                                 : -std::numeric_limits<float>::infinity();
      else v *= 20.0f;
    }
    std::vector<int16_t> c0(n + off, 99);
    std::vector<float> v0(n + off, 9.0f);
    const bool in0 = ref->quantize(x.data() + off, c0.data() + off, v0.data() + off, static_cast<int64_t>(n), p);
    bool expect_in = true;
    for (size_t i = 0; i < n; ++i) {
      const float xi = x[off + i];
      if (p.window == WindowKind::closed) expect_in &= p.wlo <= xi && xi <= p.whi;
      if (p.window == WindowKind::open) expect_in &= p.wlo < xi && xi < p.whi;
      REQUIRE(same(v0[off + i], p.scale * (static_cast<float>(c0[off + i]) - p.zero_point)));
      if (p.kind == QuantKind::sign) REQUIRE(c0[off + i] == (xi < 0.0f ? -1 : 1));
    }
    CHECK(in0 == expect_in);
    for (Isa isa : isas_with(fvec_kernels_for)) {
      CAPTURE(std::string(isa_name(isa)));
      CAPTURE(n);
      CAPTURE(static_cast<int>(p.kind));
      std::vector<int16_t> c1(n + off, 99);
      std::vector<float> v1(n + off, 9.0f);
      const bool in1 = fvec_kernels_for(isa)->quantize(x.data() + off, c1.data() + off, v1.data() + off,
                                                       static_cast<int64_t>(n), p);
      CHECK(in1 == in0);
      for (size_t i = 0; i < n + off; ++i) {
        REQUIRE(c1[i] == c0[i]);
        REQUIRE(same(v1[i], v0[i]));
      }
    }
  }
}

TEST_CASE("fvec: the active table is one of the built variants") {
  const FvecKernels& t = fvec_kernels();
  bool found = false;
  for (int i = 0; i < kIsaCount; ++i) found |= fvec_kernels_for(static_cast<Isa>(i)) == &t;
  CHECK(found);
}
