#include <doctest/doctest.h>

#include <vector>

#include "kernels/pack/pack_nibbles.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

TEST_CASE("int4 / int2 packing: every ISA matches ref, round-trips, zeroes unused fields") {
  Rng rng(21);
  for (int iter = 0; iter < 400; ++iter) {
    const bool four = iter % 2 == 0;
    const int lo = four ? -8 : -2, hi = four ? 7 : 1;
    const size_t rows = rng.size(1, 4), k = rng.size(1, 200), lds = k + rng.size(0, 7);
    const size_t rb = four ? packed_bytes_i4(k) : packed_bytes_i2(k), ldd = rb + rng.size(0, 3);
    std::vector<int8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<int8_t>(rng.uniform(-128, 127));  // garbage beyond K stays
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = 0; i < k; ++i) src[r * lds + i] = static_cast<int8_t>(rng.uniform(lo, hi));
    std::vector<uint8_t> p0(rows * ldd, 0xFF);
    REQUIRE((four ? pack_i4_ref : pack_i2_ref)(src.data(), rows, k, lds, p0.data(), ldd));
    std::vector<int8_t> back(rows * k);
    (four ? unpack_i4 : unpack_i2)(p0.data(), rows, k, ldd, back.data(), k);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < k; ++i) REQUIRE(back[r * k + i] == src[r * lds + i]);
      const size_t per = four ? 2 : 4, used = k % per;
      if (used) CHECK((p0[r * ldd + rb - 1] >> (used * (8 / per))) == 0);
    }
    for (const PackNibblesKernels* t : all_tables(pack_nibbles_kernels_for)) {
      std::vector<uint8_t> p1(rows * ldd, 0xFF);
      REQUIRE((four ? t->i4 : t->i2)(src.data(), rows, k, lds, p1.data(), ldd));
      for (size_t r = 0; r < rows; ++r)
        for (size_t j = 0; j < rb; ++j) REQUIRE(p1[r * ldd + j] == p0[r * ldd + j]);
    }
  }
}

TEST_CASE("int4 / int2 packing rejects out-of-range values and bad sizes") {
  const size_t k = 77;
  std::vector<int8_t> s(k, 1);
  std::vector<uint8_t> d(64);
  for (size_t pos : {size_t(0), size_t(31), size_t(32), size_t(63), k - 1})
    for (const PackNibblesKernels* t : all_tables(pack_nibbles_kernels_for)) {
      s[pos] = 8;
      CHECK_FALSE(t->i4(s.data(), 1, k, k, d.data(), 64));
      s[pos] = -9;
      CHECK_FALSE(t->i4(s.data(), 1, k, k, d.data(), 64));
      s[pos] = 2;
      CHECK(t->i4(s.data(), 1, k, k, d.data(), 64));
      CHECK_FALSE(t->i2(s.data(), 1, k, k, d.data(), 64));
      s[pos] = -3;
      CHECK_FALSE(t->i2(s.data(), 1, k, k, d.data(), 64));
      s[pos] = 1;
      CHECK(t->i2(s.data(), 1, k, k, d.data(), 64));
    }
  s[40] = 9;
  CHECK(pack_i4(s.data(), 1, k, k, d.data(), 64) == Status::out_of_range);
  s[40] = 0;
  CHECK(pack_i4(s.data(), 1, k, k, d.data(), 64) == Status::ok);
  CHECK(pack_i4(s.data(), 1, k, k, d.data(), packed_bytes_i4(k) - 1) == Status::bad_size);
  CHECK(pack_i2(s.data(), 1, k, k - 1, d.data(), 64) == Status::bad_size);
  CHECK(pack_i2(nullptr, 1, k, k, d.data(), 64) == Status::null_pointer);
}
