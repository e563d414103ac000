// NEON ternary / bit-plane packing against the reference, table to table (independent of what the dispatch
// selects): random shapes with tails, odd strides, garbage past K and in the destination, invalid values.
// Only meaningful on aarch64; elsewhere the file is empty.
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {
extern const PackPlanesKernels kPackPlanesRef;
extern const PackPlanesKernels kPackPlanesNeon;
}  // namespace lowbit::kernels

using namespace lowbit::kernels;

TEST_CASE("neon: pack_ternary_planes matches ref (tails, strides, garbage, invalid values)") {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 600; ++iter) {
    const size_t rows = 1 + rng() % 5, k = 1 + rng() % 300, lds = k + rng() % 7;
    const size_t ldd = packed_words(k) + rng() % 3;
    std::vector<int8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<int8_t>(int(rng() % 3) - 1);
    for (size_t r = 0; r < rows; ++r)  // garbage past K must not matter
      for (size_t i = k; i < lds; ++i) src[r * lds + i] = static_cast<int8_t>(rng());
    const bool poison = iter % 7 == 0;
    if (poison) src[(rng() % rows) * lds + rng() % k] = static_cast<int8_t>(2 + rng() % 120);
    std::vector<bword> m0(rows * ldd, ~bword{0}), s0(m0), m1(m0), s1(m0);
    const bool ok0 = kPackPlanesRef.ternary(src.data(), rows, k, lds, m0.data(), s0.data(), ldd);
    const bool ok1 = kPackPlanesNeon.ternary(src.data(), rows, k, lds, m1.data(), s1.data(), ldd);
    INFO("rows=" << rows << " k=" << k << " lds=" << lds << " ldd=" << ldd);
    CHECK(ok0 == !poison);
    CHECK(ok1 == ok0);
    if (!poison) {
      CHECK(m1 == m0);
      CHECK(s1 == s0);
    }
  }
}

TEST_CASE("neon: pack_bit_planes matches ref for 1..8 bits") {
  std::mt19937 rng(12);
  for (int iter = 0; iter < 800; ++iter) {
    const int bits = 1 + iter % 8;
    const size_t rows = 1 + rng() % 4, k = 1 + rng() % 260, lds = k + rng() % 5;
    const size_t ldd = size_t(bits) * packed_words(k) + rng() % 3;
    std::vector<uint8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = k; i < lds; ++i) src[r * lds + i] = static_cast<uint8_t>(rng());
    const bool poison = bits < 8 && iter % 5 == 0;
    if (poison) src[(rng() % rows) * lds + rng() % k] = static_cast<uint8_t>(1u << bits);
    std::vector<bword> d0(rows * ldd, 0x5555555555555555ull), d1(d0);
    const bool ok0 = kPackPlanesRef.bit_planes(src.data(), rows, k, lds, bits, d0.data(), ldd);
    const bool ok1 = kPackPlanesNeon.bit_planes(src.data(), rows, k, lds, bits, d1.data(), ldd);
    INFO("bits=" << bits << " rows=" << rows << " k=" << k);
    CHECK(ok0 == !poison);
    CHECK(ok1 == ok0);
    if (!poison) CHECK(d1 == d0);
  }
}
#endif
