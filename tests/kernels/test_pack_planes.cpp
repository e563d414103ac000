#include <doctest/doctest.h>

#include <vector>

#include "kernels/pack/pack_planes.h"
#include "multi_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::multi_test;

TEST_CASE("ternary planes: every ISA round-trips, matches ref, zeroes tails, ignores source beyond K") {
  Rng rng(11);
  for (int iter = 0; iter < 300; ++iter) {
    const size_t rows = rng.size(1, 5), k = rng.size(1, 300), lds = k + rng.size(0, 9);
    const size_t ldd = packed_words(k) + rng.size(0, 2);
    std::vector<int8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<int8_t>(rng.uniform(-1, 1));
    for (size_t r = 0; r < rows; ++r)  // garbage (even out-of-range) beyond K must be ignored
      for (size_t i = k; i < lds; ++i) src[r * lds + i] = static_cast<int8_t>(rng.uniform(-128, 127));
    std::vector<bword> m0(rows * ldd, ~bword{0}), s0(rows * ldd, ~bword{0});
    REQUIRE(pack_ternary_planes_ref(src.data(), rows, k, lds, m0.data(), s0.data(), ldd));
    std::vector<int8_t> back(rows * k);
    unpack_ternary_planes(m0.data(), s0.data(), rows, k, ldd, back.data(), k);
    for (size_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < k; ++i) REQUIRE(back[r * k + i] == src[r * lds + i]);
      const size_t last = r * ldd + packed_words(k) - 1;
      CHECK((m0[last] & ~tail_mask(k)) == 0);
      CHECK((s0[last] & ~tail_mask(k)) == 0);
      for (size_t w = 0; w < packed_words(k); ++w) CHECK((s0[r * ldd + w] & ~m0[r * ldd + w]) == 0);
    }
    for (const PackPlanesKernels* t : all_tables(pack_planes_kernels_for)) {
      std::vector<bword> m1(rows * ldd, ~bword{0}), s1(rows * ldd, ~bword{0});
      REQUIRE(t->ternary(src.data(), rows, k, lds, m1.data(), s1.data(), ldd));
      for (size_t r = 0; r < rows; ++r)
        for (size_t w = 0; w < packed_words(k); ++w) {
          REQUIRE(m1[r * ldd + w] == m0[r * ldd + w]);
          REQUIRE(s1[r * ldd + w] == s0[r * ldd + w]);
        }
    }
  }
}

TEST_CASE("bit planes: every ISA round-trips, matches ref, zeroes tails, code sums agree") {
  Rng rng(12);
  for (int iter = 0; iter < 300; ++iter) {
    const int bits = rng.uniform(1, 8);
    const size_t rows = rng.size(1, 4), k = rng.size(1, 300), lds = k + rng.size(0, 9);
    const size_t ldd = size_t(bits) * packed_words(k) + rng.size(0, 2);
    std::vector<uint8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<uint8_t>(rng.uniform(0, 255));
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = 0; i < k; ++i) src[r * lds + i] &= static_cast<uint8_t>((1u << bits) - 1);
    std::vector<bword> p0(rows * ldd, ~bword{0});
    REQUIRE(pack_bit_planes_ref(src.data(), rows, k, lds, bits, p0.data(), ldd));
    std::vector<uint8_t> back(rows * k);
    unpack_bit_planes(p0.data(), rows, k, ldd, bits, back.data(), k);
    std::vector<int32_t> sums(rows);
    bit_plane_code_sums(p0.data(), rows, k, ldd, bits, sums.data());
    for (size_t r = 0; r < rows; ++r) {
      int32_t s = 0;
      for (size_t i = 0; i < k; ++i) {
        REQUIRE(back[r * k + i] == src[r * lds + i]);
        s += src[r * lds + i];
      }
      CHECK(sums[r] == s);
      for (int b = 0; b < bits; ++b)
        CHECK((p0[r * ldd + size_t(b + 1) * packed_words(k) - 1] & ~tail_mask(k)) == 0);
    }
    for (const PackPlanesKernels* t : all_tables(pack_planes_kernels_for)) {
      std::vector<bword> p1(rows * ldd, ~bword{0});
      REQUIRE(t->bit_planes(src.data(), rows, k, lds, bits, p1.data(), ldd));
      for (size_t r = 0; r < rows; ++r)
        for (size_t w = 0; w < size_t(bits) * packed_words(k); ++w) REQUIRE(p1[r * ldd + w] == p0[r * ldd + w]);
    }
  }
}

TEST_CASE("plane packing rejects bad values and sizes on every ISA") {
  const size_t k = 130;
  std::vector<int8_t> t(k, 1);
  std::vector<uint8_t> c(k, 3);
  std::vector<bword> a(16), b(16);
  for (size_t pos : {size_t(0), size_t(63), size_t(64), k - 1}) {
    for (const PackPlanesKernels* tab : all_tables(pack_planes_kernels_for)) {
      t[pos] = 2;
      CHECK_FALSE(tab->ternary(t.data(), 1, k, k, a.data(), b.data(), 3));
      t[pos] = -2;
      CHECK_FALSE(tab->ternary(t.data(), 1, k, k, a.data(), b.data(), 3));
      t[pos] = 1;
      CHECK(tab->ternary(t.data(), 1, k, k, a.data(), b.data(), 3));
      c[pos] = 4;
      CHECK_FALSE(tab->bit_planes(c.data(), 1, k, k, 2, a.data(), 6));
      CHECK(tab->bit_planes(c.data(), 1, k, k, 3, a.data(), 8) == true);
      c[pos] = 3;
    }
  }
  t[5] = 7;
  CHECK(pack_ternary_planes(t.data(), 1, k, k, a.data(), b.data(), 3) == Status::out_of_range);
  CHECK(pack_ternary_planes(t.data(), 1, k, k, a.data(), b.data(), 2) == Status::bad_size);
  CHECK(pack_ternary_planes(nullptr, 1, k, k, a.data(), b.data(), 3) == Status::null_pointer);
  CHECK(pack_bit_planes(c.data(), 1, k, k, 2, a.data(), 5) == Status::bad_size);
  CHECK(pack_bit_planes(c.data(), 1, k, k, 9, a.data(), 8) == Status::bad_size);
  CHECK(pack_bit_planes(c.data(), 1, k, k, 2, a.data(), 6) == Status::ok);
  c[129] = 200;
  CHECK(pack_bit_planes(c.data(), 1, k, k, 2, a.data(), 6) == Status::out_of_range);
}
