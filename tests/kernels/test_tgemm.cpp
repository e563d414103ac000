#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "kernels/pack/pack_planes.h"
#include "kernels/tgemm/tgemm.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

namespace {

struct Planes {  // rows × K ternary (or binary: mask all ones) values and their packed planes
  size_t rows, k, ld;
  std::vector<int8_t> v;
  Buf<bword> mask, sign;
  std::vector<int32_t> nnz;
  Planes(Rng& rng, size_t rows_, size_t k_, bool binary, int zero_pct = 33)
      : rows(rows_), k(k_), ld(packed_words(k_) + rng.size(0, 3)), v(rows_ * k_), mask(rows_ * ld), sign(rows_ * ld),
        nnz(rows_) {
    for (auto& x : v) x = binary ? (rng.uniform(0, 1) ? 1 : -1) : (rng.uniform(0, 99) < zero_pct ? 0 : (rng.uniform(0, 1) ? 1 : -1));
    REQUIRE(pack_ternary_planes(v.data(), rows, k, k, mask.data(), sign.data(), ld) == Status::ok);
    plane_popcounts(mask.data(), rows, k, ld, nnz.data());
  }
};

int32_t naive_dot(const Planes& w, size_t m, const Planes& x, size_t n) {
  int32_t s = 0;
  for (size_t k = 0; k < w.k; ++k) s += int32_t(w.v[m * w.k + k]) * x.v[n * x.k + k];
  return s;
}

// Runs every table entry on one shape and compares against the naive dot (ref) and ref (others), bit-exact.
void check_shape(Rng& rng, size_t M, size_t N, size_t K, const std::vector<const TgemmKernels*>& tabs) {
  Planes w(rng, M, K, false), xb(rng, N, K, true), xt(rng, N, K, false, rng.uniform(0, 90));
  const size_t ldc = N + rng.size(0, 3);
  std::vector<float> scale(M), bias(M);
  for (size_t m = 0; m < M; ++m) scale[m] = rng.real(-2, 2), bias[m] = rng.real(-5, 5);
  std::vector<int32_t> want_b(M * ldc), want_t(M * ldc);
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) want_b[m * ldc + n] = naive_dot(w, m, xb, n), want_t[m * ldc + n] = naive_dot(w, m, xt, n);
  std::vector<float> ref_fb(M * ldc), ref_ft(M * ldc);
  tgemm_t2b1_f32_ref(M, N, K, w.mask.data(), w.sign.data(), w.ld, w.nnz.data(), xb.sign.data(), xb.ld, scale.data(),
                     bias.data(), ref_fb.data(), ldc, 1);
  tgemm_t2t2_f32_ref(M, N, K, w.mask.data(), w.sign.data(), w.ld, xt.mask.data(), xt.sign.data(), xt.ld, scale.data(),
                     nullptr, ref_ft.data(), ldc, 1);
  for (const TgemmKernels* t : tabs)
    for (int threads : {1, 2}) {
      if (threads == 2 && !(M * N * packed_words(K) >= kParallelMinWords) && rng.uniform(0, 3) != 0) continue;  // small: sample 2 threads
      std::vector<int32_t> cb(M * ldc, -7), ct(M * ldc, -7);
      std::vector<float> fb(M * ldc, -7), ft(M * ldc, -7);
      t->t2b1_i32(M, N, K, w.mask.data(), w.sign.data(), w.ld, w.nnz.data(), xb.sign.data(), xb.ld, cb.data(), ldc,
                  threads);
      t->t2t2_i32(M, N, K, w.mask.data(), w.sign.data(), w.ld, xt.mask.data(), xt.sign.data(), xt.ld, ct.data(), ldc,
                  threads);
      t->t2b1_f32(M, N, K, w.mask.data(), w.sign.data(), w.ld, w.nnz.data(), xb.sign.data(), xb.ld, scale.data(),
                  bias.data(), fb.data(), ldc, threads);
      t->t2t2_f32(M, N, K, w.mask.data(), w.sign.data(), w.ld, xt.mask.data(), xt.sign.data(), xt.ld, scale.data(),
                  nullptr, ft.data(), ldc, threads);
      for (size_t m = 0; m < M; ++m) {
        for (size_t n = 0; n < N; ++n) {
          const size_t i = m * ldc + n;
          REQUIRE(cb[i] == want_b[i]);
          REQUIRE(ct[i] == want_t[i]);
          REQUIRE(fb[i] == ref_fb[i]);
          REQUIRE(ft[i] == ref_ft[i]);
        }
        for (size_t n = N; n < ldc; ++n) REQUIRE(cb[m * ldc + n] == -7);  // nothing written past N
      }
    }
}

}  // namespace

TEST_CASE("tgemm: every ISA equals the naive ternary dot on a shape sweep (ragged M/N/K, tails)") {
  Rng rng(31);
  const auto tabs = all_tables(tgemm_kernels_for);
  for (size_t K : {1, 63, 64, 65, 191, 577})
    for (size_t M : {1, 3, 4, 7, 17})
      for (size_t N : {1, 7, 8, 9, 23, 24, 25, 49}) check_shape(rng, M, N, K, tabs);
}

TEST_CASE("tgemm: every ISA equals ref on thousands of random shapes") {
  Rng rng(32);
  const auto tabs = all_tables(tgemm_kernels_for);
  for (int iter = 0; iter < 2000; ++iter)
    check_shape(rng, rng.size(1, 20), rng.size(1, 40), rng.size(1, iter % 10 == 0 ? 1200 : 200), tabs);
}

TEST_CASE("tgemm: a bit at K-1 counts and source garbage beyond K does not") {
  // Only element K−1 is nonzero: a kernel that drops the partial last word returns 0 instead of ±1.
  for (size_t K : {1, 65, 129, 200}) {
    std::vector<int8_t> wv(K, 0), xv(2 * K + 64);
    wv[K - 1] = -1;
    for (size_t i = 0; i < xv.size(); ++i) xv[i] = (i * 7) % 3 == 0 ? -1 : 1;
    const size_t ld = packed_words(K);
    Buf<bword> wm(ld), ws(ld), xm(2 * ld), xs(2 * ld);
    REQUIRE(pack_ternary_planes(wv.data(), 1, K, K, wm.data(), ws.data(), ld) == Status::ok);
    // activation rows of K values followed by garbage (lds = K + 64) the packer must ignore
    std::vector<int8_t> xsrc(2 * (K + 64), 1);
    for (size_t n = 0; n < 2; ++n)
      for (size_t i = 0; i < K + 64; ++i) xsrc[n * (K + 64) + i] = i < K ? xv[n * K + i] : -1;
    REQUIRE(pack_ternary_planes(xsrc.data(), 2, K, K + 64, xm.data(), xs.data(), ld) == Status::ok);
    const int32_t nnz = 1;
    for (const TgemmKernels* t : all_tables(tgemm_kernels_for)) {
      int32_t c[2] = {0, 0};
      t->t2b1_i32(1, 2, K, wm.data(), ws.data(), ld, &nnz, xs.data(), ld, c, 2, 1);
      CHECK(c[0] == -xv[K - 1]);
      CHECK(c[1] == -xv[2 * K - 1]);
    }
  }
}

TEST_CASE("tgemm: 1 and 2 threads give identical results above the parallel threshold") {
  Rng rng(33);
  const auto tabs = all_tables(tgemm_kernels_for);
  for (auto [M, N, K] : {std::array<size_t, 3>{67, 150, 1100}, {300, 9, 4100}, {8, 700, 3000}})
    check_shape(rng, M, N, K, tabs);  // check_shape runs 1 and 2 threads and compares with the naive dot
}
