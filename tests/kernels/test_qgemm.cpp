#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "kernels/pack/pack_nibbles.h"
#include "kernels/qgemm/qgemm.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

namespace {

struct Packed {
  std::vector<int8_t> w;  // M×K signed values
  Buf<uint8_t> data;
  std::vector<int32_t> wsum;
  QgemmWeights view;
  Packed(Rng& rng, QWeight wt, QAct xt, size_t M, size_t K, bool ternary = false)
      : w(M * K), data(qgemm_packed_bytes(wt, M, K)), wsum(qgemm_panels(M) * kQgemmPanelRows) {
    const int lo = wt == QWeight::i2 ? (ternary ? -1 : -2) : wt == QWeight::i4 ? -8 : -128;
    const int hi = wt == QWeight::i2 ? 1 : wt == QWeight::i4 ? 7 : 127;
    for (auto& v : w) v = static_cast<int8_t>(rng.uniform(lo, hi));
    const size_t lds = wt == QWeight::i2 ? packed_bytes_i2(K) : wt == QWeight::i4 ? packed_bytes_i4(K) : K;
    std::vector<uint8_t> canon(M * lds + 1);
    if (wt == QWeight::i2) REQUIRE(pack_i2(w.data(), M, K, K, canon.data(), lds) == Status::ok);
    if (wt == QWeight::i4) REQUIRE(pack_i4(w.data(), M, K, K, canon.data(), lds) == Status::ok);
    if (wt == QWeight::i8) std::memcpy(canon.data(), w.data(), M * K);
    REQUIRE(qgemm_pack_weights(wt, xt, canon.data(), M, K, lds, data.data(), data.size(), wsum.data(), &view) ==
            Status::ok);
  }
};

void check_shape(Rng& rng, QWeight wt, QAct xt, size_t M, size_t N, size_t K, const std::vector<const QgemmKernels*>& tabs) {
  Packed p(rng, wt, xt, M, K, rng.uniform(0, 1) == 1);
  const size_t ldx = K + rng.size(0, 5), ldc = N + rng.size(0, 2);
  Buf<uint8_t> x(N * ldx);  // slack beyond K (and beyond the last row) holds 0xA5 garbage
  for (size_t n = 0; n < N; ++n)
    for (size_t k = 0; k < K; ++k) x[n * ldx + k] = static_cast<uint8_t>(rng.uniform(0, 255));
  for (size_t i = 0; i < N * ldx; ++i)
    if (i % ldx >= K) x[i] = static_cast<uint8_t>(rng.uniform(0, 255));
  const int32_t zp = xt == QAct::u8 ? rng.uniform(0, 255) : 0;
  std::vector<int32_t> want(M * ldc);
  for (size_t m = 0; m < M; ++m)
    for (size_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (size_t k = 0; k < K; ++k) {
        const int a = xt == QAct::s8 ? int(static_cast<int8_t>(x[n * ldx + k])) : int(x[n * ldx + k]);
        s += (a - zp) * p.w[m * K + k];
      }
      want[m * ldc + n] = s;
    }
  std::vector<float> scale(M), bias(M), ref_f(M * ldc);
  for (size_t m = 0; m < M; ++m) scale[m] = rng.real(-0.1f, 0.1f), bias[m] = rng.real(-3, 3);
  qgemm_f32_ref(p.view, N, x.data(), ldx, zp, scale.data(), bias.data(), ref_f.data(), ldc, 1);
  const int wi = static_cast<int>(wt);
  for (const QgemmKernels* t : tabs)
    for (int threads : {1, 2}) {
      if (threads == 2 && !(M * N * K >= kQgemmParallelMinMacs) && rng.uniform(0, 3) != 0) continue;  // small: sample 2 threads
      std::vector<int32_t> c(M * ldc, -9);
      std::vector<float> f(M * ldc, -9);
      t->i32[wi](p.view, N, x.data(), ldx, zp, c.data(), ldc, threads);
      t->f32[wi](p.view, N, x.data(), ldx, zp, scale.data(), bias.data(), f.data(), ldc, threads);
      for (size_t m = 0; m < M; ++m) {
        for (size_t n = 0; n < N; ++n) {
          REQUIRE(c[m * ldc + n] == want[m * ldc + n]);
          REQUIRE(f[m * ldc + n] == ref_f[m * ldc + n]);
        }
        for (size_t n = N; n < ldc; ++n) REQUIRE(c[m * ldc + n] == -9);
      }
    }
}

const QWeight kW[] = {QWeight::i2, QWeight::i4, QWeight::i8};
const QAct kX[] = {QAct::u8, QAct::s8};

}  // namespace

TEST_CASE("qgemm: packed layout reads back every weight") {
  Rng rng(50);
  for (QWeight wt : kW)
    for (QAct xt : kX)
      for (size_t M : {1, 15, 16, 17, 40})
        for (size_t K : {1, 3, 4, 7, 8, 15, 16, 17, 100}) {
          Packed p(rng, wt, xt, M, K);
          for (size_t m = 0; m < M; ++m) {
            int32_t s = 0;
            for (size_t k = 0; k < K; ++k) {
              REQUIRE(qgemm_packed_weight(p.view, m, k) == p.w[m * K + k]);
              s += p.w[m * K + k];
            }
            REQUIRE(p.wsum[m] == s);
          }
        }
}

TEST_CASE("qgemm: every ISA equals a plain int32 GEMM on a shape sweep (all weight/activation types)") {
  Rng rng(51);
  const auto tabs = all_tables(qgemm_kernels_for);
  for (QWeight wt : kW)
    for (QAct xt : kX)
      for (size_t K : {1, 3, 16, 17, 259})
        for (size_t M : {1, 17, 33})
          for (size_t N : {1, 2, 5, 13, 27}) check_shape(rng, wt, xt, M, N, K, tabs);
}

TEST_CASE("qgemm: every ISA equals the int32 GEMM on thousands of random shapes") {
  Rng rng(52);
  const auto tabs = all_tables(qgemm_kernels_for);
  for (int iter = 0; iter < 2000; ++iter)
    check_shape(rng, kW[iter % 3], kX[(iter / 3) % 2], rng.size(1, 40), rng.size(1, 20),
                rng.size(1, iter % 20 == 0 ? 600 : 80), tabs);
}

TEST_CASE("qgemm: extreme values do not saturate (u8 255 / s8 −128 against the widest weights)") {
  const size_t M = 33, N = 3, K = 4099;
  for (QWeight wt : kW)
    for (QAct xt : kX) {
      const int wext = wt == QWeight::i2 ? -2 : wt == QWeight::i4 ? -8 : -128;
      std::vector<int8_t> w(M * K, static_cast<int8_t>(wext));
      for (size_t i = 0; i < w.size(); i += 3) w[i] = static_cast<int8_t>(wt == QWeight::i8 ? 127 : 1);
      const size_t lds = wt == QWeight::i2 ? packed_bytes_i2(K) : wt == QWeight::i4 ? packed_bytes_i4(K) : K;
      std::vector<uint8_t> canon(M * lds);
      if (wt == QWeight::i2) REQUIRE(pack_i2(w.data(), M, K, K, canon.data(), lds) == Status::ok);
      if (wt == QWeight::i4) REQUIRE(pack_i4(w.data(), M, K, K, canon.data(), lds) == Status::ok);
      if (wt == QWeight::i8) std::memcpy(canon.data(), w.data(), M * K);
      Buf<uint8_t> data(qgemm_packed_bytes(wt, M, K));
      std::vector<int32_t> wsum(qgemm_panels(M) * 16);
      QgemmWeights v;
      REQUIRE(qgemm_pack_weights(wt, xt, canon.data(), M, K, lds, data.data(), data.size(), wsum.data(), &v) == Status::ok);
      Buf<uint8_t> x(N * K);
      for (size_t i = 0; i < N * K; ++i) x[i] = xt == QAct::u8 ? 255 : 0x80;
      for (const QgemmKernels* t : all_tables(qgemm_kernels_for)) {
        std::vector<int32_t> c(M * N);
        t->i32[static_cast<int>(wt)](v, N, x.data(), K, 0, c.data(), N, 2);
        for (size_t m = 0; m < M; ++m) {
          int64_t s = 0;
          for (size_t k = 0; k < K; ++k) s += int64_t(xt == QAct::u8 ? 255 : -128) * w[m * K + k];
          REQUIRE(c[m * N] == s);
        }
      }
    }
}

TEST_CASE("qgemm: packing validates its arguments") {
  std::vector<uint8_t> src(64);
  Buf<uint8_t> data(qgemm_packed_bytes(QWeight::i4, 4, 16));
  std::vector<int32_t> wsum(16);
  QgemmWeights v;
  CHECK(qgemm_pack_weights(QWeight::i4, QAct::u8, src.data(), 4, 16, 8, data.data(), data.size(), wsum.data(), &v) == Status::ok);
  CHECK(qgemm_pack_weights(QWeight::i4, QAct::u8, src.data(), 4, 16, 7, data.data(), data.size(), wsum.data(), &v) == Status::bad_size);
  CHECK(qgemm_pack_weights(QWeight::i4, QAct::u8, src.data(), 4, 16, 8, data.data() + 1, data.size(), wsum.data(), &v) == Status::bad_size);
  CHECK(qgemm_pack_weights(QWeight::i4, QAct::u8, src.data(), 4, 16, 8, data.data(), 10, wsum.data(), &v) == Status::bad_size);
  CHECK(qgemm_pack_weights(QWeight::i4, QAct::u8, nullptr, 4, 16, 8, data.data(), data.size(), wsum.data(), &v) == Status::null_pointer);
  CHECK(qgemm_pack_weights(QWeight::i8, QAct::u8, src.data(), 1, kQgemmMaxK + 1, kQgemmMaxK + 1, data.data(), data.size(), wsum.data(), &v) == Status::bad_size);
}

TEST_CASE("qgemm: 1 and 2 threads give identical results above the parallel threshold") {
  Rng rng(53);
  const auto tabs = all_tables(qgemm_kernels_for);
  check_shape(rng, QWeight::i2, QAct::s8, 200, 40, 300, tabs);
  check_shape(rng, QWeight::i4, QAct::u8, 530, 1, 2100, tabs);  // GEMV split over M
  check_shape(rng, QWeight::i8, QAct::s8, 33, 100, 700, tabs);
}
