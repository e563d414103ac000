#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "kernels/bgemm/bgemm.h"
#include "tests/kernels/kernel_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::testing;

namespace {

struct Problem {
  size_t M, N, K, kw, lda, ldb;
  std::vector<bword> A, B;
  std::vector<int32_t> col_class, class_corr;
  BgemmOperands op() const {
    BgemmOperands o;
    o.M = M; o.N = N; o.K = K; o.kw = kw; o.A = A.data(); o.lda = lda; o.B = B.data(); o.ldb = ldb;
    if (!col_class.empty()) { o.col_class = col_class.data(); o.class_corr = class_corr.data(); }
    return o;
  }
};

// Random problem; words in [packed_words(K), kw) are zero (interior padding), words in [kw, ld) are garbage.
Problem random_problem(Rng& rng, size_t M, size_t N, size_t K, bool corr) {
  Problem p;
  p.M = M; p.N = N; p.K = K;
  p.kw = packed_words(K) + (rng() % 4 == 0 ? uniform(rng, 1, 2) : 0);
  p.lda = p.kw + uniform(rng, 0, 3);
  p.ldb = p.kw + uniform(rng, 0, 3);
  p.A = random_bits(rng, M, K, p.lda, 0xDEADBEEFCAFEF00Dull);
  p.B = random_bits(rng, N, K, p.ldb, 0x0123456789ABCDEFull);
  for (size_t r = 0; r < M; ++r)
    for (size_t w = packed_words(K); w < p.kw; ++w) p.A[r * p.lda + w] = 0;
  for (size_t r = 0; r < N; ++r)
    for (size_t w = packed_words(K); w < p.kw; ++w) p.B[r * p.ldb + w] = 0;
  if (corr) {
    const size_t classes = uniform(rng, 2, 5);
    p.col_class.resize(N);
    for (auto& c : p.col_class) c = rng() % 3 == 0 ? static_cast<int32_t>(uniform(rng, 1, classes - 1)) : 0;
    p.class_corr.resize(classes * M);
    for (auto& c : p.class_corr) c = static_cast<int32_t>(uniform(rng, 0, 2 * K)) - static_cast<int32_t>(K);
  }
  return p;
}

// Float oracle, independent of every kernel: Σ a·b over the ±1 values minus the correction.
int64_t oracle_dot(const Problem& p, size_t m, size_t n) {
  float s = 0.0f;
  for (size_t k = 0; k < p.K; ++k) s += pm1(&p.A[m * p.lda], k) * pm1(&p.B[n * p.ldb], k);
  int64_t d = static_cast<int64_t>(s);
  if (!p.col_class.empty() && p.col_class[n] != 0) d -= p.class_corr[p.col_class[n] * p.M + m];
  return d;
}

struct Outputs {
  std::vector<int32_t> i32;
  std::vector<float> f32;
  std::vector<bword> bits;
};

// Runs all three outputs with table t; output strides (cs_m, cs_n) with gaps, sentinels elsewhere.
Outputs run(const BgemmKernels& t, const Problem& p, bool nhwc, const std::vector<float>& scale,
            const std::vector<float>& bias, const std::vector<int32_t>& thr, const std::vector<bword>& flip,
            int threads) {
  Outputs o;
  const size_t cs_m = nhwc ? 1 : p.N + 3, cs_n = nhwc ? p.M + 2 : 1;
  const size_t size = nhwc ? p.N * cs_n : p.M * cs_m;
  std::vector<bword> scratch(t.scratch_words(p.N, p.kw) + 1);
  const BgemmOperands op = p.op();
  o.i32.assign(size, -12345);
  t.i32(op, BgemmOutI32{o.i32.data(), cs_m, cs_n}, scratch.data(), threads);
  o.f32.assign(size, -999.5f);
  BgemmOutF32 of{o.f32.data(), cs_m, cs_n, scale.empty() ? nullptr : scale.data(),
                 bias.empty() ? nullptr : bias.data()};
  t.f32(op, of, scratch.data(), threads);
  const size_t ldc = packed_words(p.M) + 1;
  o.bits.assign(p.N * ldc, 0x5555555555555555ull);
  t.bits(op, BgemmOutBits{o.bits.data(), ldc, thr.data(), flip.empty() ? nullptr : flip.data()}, scratch.data(),
         threads);
  return o;
}

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void random_transform(Rng& rng, size_t M, size_t K, std::vector<float>* scale, std::vector<float>* bias,
                      std::vector<int32_t>* thr, std::vector<bword>* flip) {
  scale->resize(M);
  bias->resize(M);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (size_t m = 0; m < M; ++m) {
    (*scale)[m] = m % 7 == 3 ? 0.0f : u(rng);
    (*bias)[m] = u(rng) * static_cast<float>(K) * 0.3f;
  }
  thr->resize(M);
  flip->resize(packed_words(M));
  bgemm_thresholds_from_affine(scale->data(), bias->data(), M, thr->data(), flip->data());
}

void compare_with_ref(const BgemmKernels& t, Rng& rng, size_t M, size_t N, size_t K, bool corr, bool nhwc,
                      int threads) {
  const Problem p = random_problem(rng, M, N, K, corr);
  std::vector<float> scale, bias;
  std::vector<int32_t> thr;
  std::vector<bword> flip;
  random_transform(rng, M, K, &scale, &bias, &thr, &flip);
  if (rng() % 4 == 0) { scale.clear(); bias.clear(); }
  const Outputs want = run(kBgemmRef, p, nhwc, scale, bias, thr, flip, 1);
  const Outputs got = run(t, p, nhwc, scale, bias, thr, flip, threads);
  CAPTURE(M); CAPTURE(N); CAPTURE(K); CAPTURE(p.kw); CAPTURE(corr); CAPTURE(nhwc); CAPTURE(threads);
  REQUIRE(got.i32 == want.i32);
  REQUIRE(same_floats(got.f32, want.f32));
  REQUIRE(got.bits == want.bits);
}

}  // namespace

TEST_CASE("bgemm ref equals the float oracle, thresholds equal sign(scale*dot + bias) in fp32") {
  Rng rng(21);
  for (int trial = 0; trial < 120; ++trial) {
    const size_t M = uniform(rng, 1, 70), N = uniform(rng, 1, 30), K = uniform(rng, 1, 300);
    const bool corr = trial % 3 == 0, nhwc = trial % 2 == 1;
    const Problem p = random_problem(rng, M, N, K, corr);
    std::vector<float> scale, bias;
    std::vector<int32_t> thr;
    std::vector<bword> flip;
    random_transform(rng, M, K, &scale, &bias, &thr, &flip);
    const Outputs o = run(kBgemmRef, p, nhwc, scale, bias, thr, flip, 1);
    const size_t cs_m = nhwc ? 1 : N + 3, cs_n = nhwc ? M + 2 : 1, ldc = packed_words(M) + 1;
    for (size_t m = 0; m < M; ++m)
      for (size_t n = 0; n < N; ++n) {
        const int64_t d = oracle_dot(p, m, n);
        REQUIRE(o.i32[m * cs_m + n * cs_n] == d);
        const float y = bgemm_affine(scale[m], d, bias[m]);
        REQUIRE(o.f32[m * cs_m + n * cs_n] == y);
        const bword bit = (o.bits[n * ldc + m / 64] >> (m % 64)) & 1u;
        REQUIRE(bit == (y < 0.0f ? 1u : 0u));
      }
    // Untouched: the gaps of the strided outputs and the bits past M.
    for (size_t n = 0; n < N; ++n) {
      if (M % 64) REQUIRE((o.bits[n * ldc + M / 64] & ~tail_mask(M)) == 0);
      REQUIRE(o.bits[n * ldc + packed_words(M)] == 0x5555555555555555ull);
    }
    if (!nhwc)
      for (size_t m = 0; m < M; ++m) REQUIRE(o.i32[m * cs_m + N] == -12345);
  }
}

TEST_CASE("bgemm thresholds: exact at the boundary, negative and zero scales") {
  // Dots exactly at −b/s, huge and tiny scales, negative zero bias.
  const float scales[] = {1.0f, -1.0f, 0.5f, -0.25f, 3.0f, -7.0f, 1e-8f, -1e-8f, 1e8f, 0.0f, 0.0f, 0.1f};
  const float biases[] = {3.0f, 3.0f, -2.0f, 1.0f, 0.0f, -0.0f, 1e-7f, 1e-7f, -1.0f, -1.0f, 1.0f, 0.3f};
  const size_t M = 12;
  int32_t thr[M];
  bword flip[1];
  bgemm_thresholds_from_affine(scales, biases, M, thr, flip);
  for (size_t m = 0; m < M; ++m)
    for (int64_t d = -300; d <= 300; ++d) {
      const bool neg = bgemm_affine(scales[m], d, biases[m]) < 0.0f;
      const bool bit = (d < thr[m]) != (((flip[0] >> m) & 1u) != 0);
      CAPTURE(m); CAPTURE(d);
      REQUIRE(bit == neg);
    }
  CHECK((flip[0] >> M) == 0);
}

TEST_CASE("bgemm: every ISA equals ref on a shape sweep (M, N, K tails, strides, both output layouts)") {
  Rng rng(22);
  for (Isa isa : runnable_isas()) {
    const BgemmKernels* t = bgemm_kernels_for(isa);
    if (!t || isa == Isa::ref) continue;
    CAPTURE(isa_name(isa));
    const size_t Ms[] = {1, 3, 4, 5, 8, 17, 63, 64, 65, 130};
    const size_t Ns[] = {1, 7, 8, 9, 23, 24, 25, 47, 49, 100};
    const size_t Ks[] = {1, 63, 64, 65, 127, 200, 576, 1000};
    for (size_t M : Ms)
      for (size_t N : Ns)
        for (size_t K : Ks)
          if ((M * 7 + N * 3 + K) % 3 == 0 || M * N * K < 4000)
            compare_with_ref(*t, rng, M, N, K, (M + N) % 2 == 0, (M + K) % 2 == 0, 1);
  }
}

TEST_CASE("bgemm: every ISA equals ref on 2000 random shapes") {
  Rng rng(23);
  for (Isa isa : runnable_isas()) {
    if (isa == Isa::ref) continue;
    const BgemmKernels* t = bgemm_kernels_for(isa);
    if (!t) continue;
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 2000; ++trial) {
      const size_t M = uniform(rng, 1, 80), N = uniform(rng, 1, 60), K = uniform(rng, 1, 400);
      compare_with_ref(*t, rng, M, N, K, trial % 3 == 0, trial % 2 == 0, 1 + trial % 2);
    }
  }
}

TEST_CASE("bgemm: 1 and 2 threads give identical results for every ISA") {
  Rng rng(24);
  for (Isa isa : runnable_isas()) {
    const BgemmKernels* t = bgemm_kernels_for(isa);
    if (!t) continue;
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 6; ++trial) {
      const size_t M = uniform(rng, 60, 200), N = uniform(rng, 50, 300), K = uniform(rng, 100, 900);
      const Problem p = random_problem(rng, M, N, K, trial % 2 == 0);
      std::vector<float> scale, bias;
      std::vector<int32_t> thr;
      std::vector<bword> flip;
      random_transform(rng, M, K, &scale, &bias, &thr, &flip);
      const Outputs one = run(*t, p, trial % 2 == 1, scale, bias, thr, flip, 1);
      const Outputs two = run(*t, p, trial % 2 == 1, scale, bias, thr, flip, 2);
      REQUIRE(one.i32 == two.i32);
      REQUIRE(same_floats(one.f32, two.f32));
      REQUIRE(one.bits == two.bits);
    }
  }
}

TEST_CASE("bgemm: shapes big enough to run on two threads equal ref (whole-panel and single-item splits)") {
  // The optimized variants start a second thread only above a minimum amount of work (bgemm_driver.h) and hand
  // out whole B panels when there are at least 4 per thread, single (panel, 64-row block) items otherwise. These
  // shapes are above the threshold in both regimes, with ragged M, N and K, corrections and both output layouts.
  Rng rng(26);
  struct Shape { size_t M, N, K; };
  const Shape shapes[] = {{130, 250, 600}, {67, 401, 1000}, {300, 40, 1500}, {513, 23, 2100}, {70, 1100, 130}};
  for (Isa isa : runnable_isas()) {
    const BgemmKernels* t = bgemm_kernels_for(isa);
    if (!t || isa == Isa::ref) continue;
    CAPTURE(isa_name(isa));
    for (const Shape& s : shapes)
      for (int variant = 0; variant < 2; ++variant)
        compare_with_ref(*t, rng, s.M, s.N, s.K, variant == 0, variant == 1, 2);
  }
}

TEST_CASE("bgemm: a kernel that drops the last partial word is caught (tail test)") {
  // A and B differ only in bit K−1 (the last element, alone in the tail word): dot must be K − 2.
  for (Isa isa : runnable_isas()) {
    const BgemmKernels* t = bgemm_kernels_for(isa);
    if (!t) continue;
    CAPTURE(isa_name(isa));
    for (size_t K : {65u, 130u, 577u, 1025u}) {
      const size_t kw = packed_words(K), M = 5, N = 11;
      std::vector<bword> A(M * kw + 8, 0), B(N * kw + 8, 0);
      for (size_t n = 0; n < N; ++n) B[n * kw + kw - 1] = bword{1} << ((K - 1) % 64);
      BgemmOperands op;
      op.M = M; op.N = N; op.K = K; op.kw = kw; op.A = A.data(); op.lda = kw; op.B = B.data(); op.ldb = kw;
      std::vector<int32_t> C(M * N, 0);
      std::vector<bword> scratch(t->scratch_words(N, kw) + 1);
      t->i32(op, BgemmOutI32{C.data(), N, 1}, scratch.data(), 1);
      for (int32_t c : C) REQUIRE(c == static_cast<int32_t>(K) - 2);
    }
  }
}

TEST_CASE("bgemm_check reports bad operands") {
  bword w[4] = {};
  int32_t c[4];
  BgemmOperands op;
  op.M = 2; op.N = 2; op.K = 64; op.kw = 1; op.A = w; op.lda = 1; op.B = w; op.ldb = 1;
  CHECK(bgemm_check(op) == Status::ok);
  CHECK(bgemm_check(op, BgemmOutI32{c, 2, 1}) == Status::ok);
  CHECK(bgemm_check(op, BgemmOutI32{nullptr, 2, 1}) == Status::null_pointer);
  op.K = 65;
  CHECK(bgemm_check(op) == Status::bad_size);
  op.K = 64; op.lda = 0;
  CHECK(bgemm_check(op) == Status::bad_size);
  op.lda = 1; op.B = nullptr;
  CHECK(bgemm_check(op) == Status::null_pointer);
  op.B = w;
  bword out[2];
  CHECK(bgemm_check(op, BgemmOutBits{out, 1, nullptr, nullptr}) == Status::null_pointer);
  CHECK(bgemm_check(op, BgemmOutBits{out, 0, c, nullptr}) == Status::bad_size);
}
