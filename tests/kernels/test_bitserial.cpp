#include <doctest/doctest.h>

#include <cmath>
#include <array>
#include <vector>

#include "kernels/bitserial/bitserial.h"
#include "kernels/pack/pack_planes.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

namespace {

struct Codes {  // rows × K unsigned codes and their bit planes
  size_t rows, k, ld;
  int bits;
  std::vector<uint8_t> v;
  Buf<bword> planes;
  std::vector<int32_t> sums;
  Codes(Rng& rng, size_t rows_, size_t k_, int bits_)
      : rows(rows_), k(k_), ld(size_t(bits_) * packed_words(k_) + rng.size(0, 2)), bits(bits_), v(rows_ * k_),
        planes(rows_ * ld), sums(rows_) {
    for (auto& x : v) x = static_cast<uint8_t>(rng.uniform(0, (1 << bits) - 1));
    REQUIRE(pack_bit_planes(v.data(), rows, k, k, bits, planes.data(), ld) == Status::ok);
    bit_plane_code_sums(planes.data(), rows, k, ld, bits, sums.data());
  }
};

void check_shape(Rng& rng, size_t M, size_t N, size_t K, int wb, int xb, const std::vector<const BitserialKernels*>& tabs) {
  Codes w(rng, M, K, wb), x(rng, N, K, xb);
  const size_t ldc = N + rng.size(0, 2);
  std::vector<float> scale(M), bias(M);
  for (size_t m = 0; m < M; ++m) scale[m] = rng.real(0.1f, 2), bias[m] = rng.real(-1, 1);
  std::vector<float> ref_f(M * ldc);
  bitserial_dorefa_f32_ref(M, N, K, wb, w.planes.data(), w.ld, xb, x.planes.data(), x.ld, x.sums.data(), scale.data(),
                           bias.data(), ref_f.data(), ldc, 1);
  const double qw = (1 << wb) - 1, qx = (1 << xb) - 1;
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) {  // the DoReFa float formula, in double
      double s = 0;
      for (size_t k = 0; k < K; ++k) s += (2.0 * w.v[m * K + k] / qw - 1.0) * (x.v[n * K + k] / qx);
      const double want = scale[m] * s + bias[m];
      REQUIRE(std::fabs(ref_f[m * ldc + n] - want) <= 1e-5 * (1.0 + std::fabs(scale[m] * double(K))));
    }
  for (const BitserialKernels* t : tabs)
    for (int threads : {1, 2}) {
      if (threads == 2 && !(M * N * packed_words(K) >= kParallelMinWords) && rng.uniform(0, 3) != 0) continue;  // small: sample 2 threads
      std::vector<int32_t> d(M * ldc, -3), s(M * ldc, -3);
      std::vector<float> f(M * ldc, -3);
      t->i32(M, N, K, wb, w.planes.data(), w.ld, xb, x.planes.data(), x.ld, d.data(), ldc, threads);
      t->dorefa_i32(M, N, K, wb, w.planes.data(), w.ld, xb, x.planes.data(), x.ld, x.sums.data(), s.data(), ldc, threads);
      t->dorefa_f32(M, N, K, wb, w.planes.data(), w.ld, xb, x.planes.data(), x.ld, x.sums.data(), scale.data(),
                    bias.data(), f.data(), ldc, threads);
      for (size_t m = 0; m < M; ++m) {
        for (size_t n = 0; n < N; ++n) {
          int32_t cd = 0, sd = 0;
          for (size_t k = 0; k < K; ++k) cd += int32_t(w.v[m * K + k]) * x.v[n * K + k], sd += x.v[n * K + k];
          const size_t i = m * ldc + n;
          REQUIRE(d[i] == cd);
          REQUIRE(s[i] == 2 * cd - int32_t(qw) * sd);
          REQUIRE(f[i] == ref_f[i]);
        }
        for (size_t n = N; n < ldc; ++n) REQUIRE(d[m * ldc + n] == -3);
      }
    }
}

}  // namespace

TEST_CASE("bitserial: every ISA equals the integer dot and the DoReFa formula on a sweep of widths and shapes") {
  Rng rng(41);
  const auto tabs = all_tables(bitserial_kernels_for);
  for (int wb = 1; wb <= kBitserialMaxBits; ++wb)
    for (int xb = 1; xb <= kBitserialMaxBits; ++xb)
      for (size_t K : {1, 65, 190})
        for (size_t M : {1, 5, 8})
          for (size_t N : {1, 9, 17, 30}) check_shape(rng, M, N, K, wb, xb, tabs);
}

TEST_CASE("bitserial: every ISA equals ref on thousands of random shapes") {
  Rng rng(42);
  const auto tabs = all_tables(bitserial_kernels_for);
  for (int iter = 0; iter < 2000; ++iter)
    check_shape(rng, rng.size(1, 12), rng.size(1, 33), rng.size(1, iter % 10 == 0 ? 700 : 150), rng.uniform(1, 4),
                rng.uniform(1, 4), tabs);
}

TEST_CASE("bitserial: the last code of a ragged row counts") {
  for (size_t K : {1, 65, 130})
    for (const BitserialKernels* t : all_tables(bitserial_kernels_for)) {
      std::vector<uint8_t> wv(K, 0), xv(K, 3);
      wv[K - 1] = 2;
      const size_t ld = 2 * packed_words(K);
      Buf<bword> w(ld), x(ld);
      REQUIRE(pack_bit_planes(wv.data(), 1, K, K, 2, w.data(), ld) == Status::ok);
      REQUIRE(pack_bit_planes(xv.data(), 1, K, K, 2, x.data(), ld) == Status::ok);
      int32_t c = 0;
      t->i32(1, 1, K, 2, w.data(), ld, 2, x.data(), ld, &c, 1, 1);
      CHECK(c == 6);
    }
}

TEST_CASE("bitserial: 1 and 2 threads give identical results above the parallel threshold") {
  Rng rng(43);
  const auto tabs = all_tables(bitserial_kernels_for);
  check_shape(rng, 70, 130, 2000, 2, 2, tabs);
  check_shape(rng, 200, 5, 5000, 1, 3, tabs);
  check_shape(rng, 9, 400, 4200, 4, 2, tabs);
}
