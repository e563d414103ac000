// NEON int4 / int2 packing against the reference, table to table (the pack_nibbles dispatch does not list a NEON
// table yet, so the family test cannot reach it): random shapes with tails, odd strides, garbage past k and in the
// destination padding, out-of-range values. Only meaningful on aarch64; elsewhere the file is empty.
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {
extern const PackNibblesKernels kPackNibblesRef;
extern const PackNibblesKernels kPackNibblesNeon;
}  // namespace lowbit::kernels

using namespace lowbit::kernels;

TEST_CASE("neon: pack_i4 / pack_i2 match ref (tails, strides, garbage, invalid values)") {
  std::mt19937 rng(13);
  for (int iter = 0; iter < 800; ++iter) {
    const bool i4 = iter % 2 == 0;
    const int lo = i4 ? -8 : -2, span = i4 ? 16 : 4;
    const size_t rows = 1 + rng() % 4, k = 1 + rng() % 300, lds = k + rng() % 9;
    const size_t bytes = i4 ? packed_bytes_i4(k) : packed_bytes_i2(k), ldd = bytes + rng() % 5;
    std::vector<int8_t> src(rows * lds);
    for (auto& v : src) v = static_cast<int8_t>(lo + int(rng() % span));
    for (size_t r = 0; r < rows; ++r)
      for (size_t i = k; i < lds; ++i) src[r * lds + i] = static_cast<int8_t>(rng());  // must not be read
    const bool poison = iter % 9 == 0;
    if (poison) src[(rng() % rows) * lds + rng() % k] = static_cast<int8_t>(i4 ? 8 + rng() % 100 : -3 - int(rng() % 100));
    std::vector<uint8_t> d0(rows * ldd, 0xA5), d1(d0);
    const PackNibblesKernels& ref = kPackNibblesRef;
    const PackNibblesKernels& neon = kPackNibblesNeon;
    const bool ok0 = (i4 ? ref.i4 : ref.i2)(src.data(), rows, k, lds, d0.data(), ldd);
    const bool ok1 = (i4 ? neon.i4 : neon.i2)(src.data(), rows, k, lds, d1.data(), ldd);
    INFO("i4=" << i4 << " rows=" << rows << " k=" << k << " lds=" << lds << " ldd=" << ldd);
    CHECK(ok0 == !poison);
    CHECK(ok1 == ok0);
    if (!poison) CHECK(d1 == d0);  // includes the destination padding bytes: neither writes past the row
  }
}
#endif
