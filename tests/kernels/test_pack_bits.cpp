#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/pack/pack_bits.h"
#include "tests/kernels/kernel_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::testing;

namespace {

// Independent scalar oracle: the definition in packing.h.
bword expected_word(const float* row, size_t cols, size_t w) {
  bword word = 0;
  for (size_t k = w * 64; k < cols && k < (w + 1) * 64; ++k)
    if (row[k] < 0.0f) word |= bword{1} << (k % 64);
  return word;
}

}  // namespace

TEST_CASE("pack_sign_rows: every ISA equals the definition, tails zero, strides respected") {
  Rng rng(11);
  for (Isa isa : runnable_isas()) {
    const PackBitsKernels* t = pack_bits_kernels_for(isa);
    REQUIRE(t != nullptr);
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 400; ++trial) {
      const size_t rows = uniform(rng, 1, 7), cols = trial < 200 ? static_cast<size_t>(trial + 1) : uniform(rng, 1, 700);
      const size_t src_stride = cols + uniform(rng, 0, 5), words = packed_words(cols);
      const size_t dst_stride = words + uniform(rng, 0, 3);
      std::vector<float> src = random_floats(rng, rows * src_stride);
      // Garbage negatives between rows: must not leak into the tail bits.
      for (size_t r = 0; r < rows; ++r)
        for (size_t k = cols; k < src_stride; ++k) src[r * src_stride + k] = -5.0f;
      std::vector<bword> dst(rows * dst_stride, ~bword{0});
      t->sign_rows(src.data(), rows, cols, src_stride, dst.data(), dst_stride);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t w = 0; w < words; ++w)
          REQUIRE(dst[r * dst_stride + w] == expected_word(&src[r * src_stride], cols, w));
        for (size_t w = words; w < dst_stride; ++w) REQUIRE(dst[r * dst_stride + w] == ~bword{0});  // untouched
      }
    }
  }
}

TEST_CASE("pack_sign_rows: sign(0) = sign(-0) = sign(NaN) = +1, negatives and -inf are -1") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> src(130, 1.0f);
  src[0] = 0.0f; src[1] = -0.0f; src[2] = nan; src[3] = -inf; src[4] = -1e-30f; src[64] = -2.0f; src[129] = -1.0f;
  for (Isa isa : runnable_isas()) {
    CAPTURE(isa_name(isa));
    bword dst[3] = {};
    pack_bits_kernels_for(isa)->sign_rows(src.data(), 1, 130, 130, dst, 3);
    CHECK(dst[0] == ((bword{1} << 3) | (bword{1} << 4)));
    CHECK(dst[1] == 1);
    CHECK(dst[2] == 2);
  }
}

TEST_CASE("pack/unpack round trip on ±1 data for every ISA") {
  Rng rng(12);
  for (Isa isa : runnable_isas()) {
    const PackBitsKernels* t = pack_bits_kernels_for(isa);
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 200; ++trial) {
      const size_t rows = uniform(rng, 1, 5), cols = uniform(rng, 1, 300);
      const size_t words = packed_words(cols), ld = words + uniform(rng, 0, 2), fs = cols + uniform(rng, 0, 4);
      std::vector<bword> bits = random_bits(rng, rows, cols, ld);
      std::vector<float> f(rows * fs, 7.0f);
      t->unpack_rows(bits.data(), rows, cols, ld, f.data(), fs);
      for (size_t r = 0; r < rows; ++r) {
        for (size_t k = 0; k < cols; ++k) REQUIRE(f[r * fs + k] == pm1(&bits[r * ld], k));
        for (size_t k = cols; k < fs; ++k) REQUIRE(f[r * fs + k] == 7.0f);
      }
      std::vector<bword> back(rows * ld, 0);
      t->sign_rows(f.data(), rows, cols, fs, back.data(), ld);
      for (size_t r = 0; r < rows; ++r)
        for (size_t w = 0; w < words; ++w) REQUIRE(back[r * ld + w] == bits[r * ld + w]);
    }
  }
}

TEST_CASE("pack_nchw_to_nhwc_bits: every ISA equals the definition (channel and pixel tails)") {
  Rng rng(13);
  for (Isa isa : runnable_isas()) {
    const PackBitsKernels* t = pack_bits_kernels_for(isa);
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 150; ++trial) {
      const size_t n = uniform(rng, 1, 2), c = trial < 70 ? static_cast<size_t>(trial * 3 + 1) : uniform(rng, 1, 200);
      const size_t h = uniform(rng, 1, 9), w = uniform(rng, 1, 19), words = packed_words(c);
      std::vector<float> src = random_floats(rng, n * c * h * w);
      std::vector<bword> dst(n * h * w * words, ~bword{0});
      t->nchw_to_nhwc(src.data(), n, c, h, w, dst.data());
      for (size_t b = 0; b < n; ++b)
        for (size_t p = 0; p < h * w; ++p)
          for (size_t cw = 0; cw < words; ++cw) {
            bword want = 0;
            for (size_t ch = cw * 64; ch < c && ch < cw * 64 + 64; ++ch)
              if (src[(b * c + ch) * h * w + p] < 0.0f) want |= bword{1} << (ch % 64);
            REQUIRE(dst[(b * h * w + p) * words + cw] == want);
          }
    }
  }
}

TEST_CASE("pack_sign_bytes: every ISA equals the reference on ragged rows, tails zero, strides respected") {
  Rng rng(12);
  const PackBitsKernels& ref = *pack_bits_kernels_for(Isa::ref);
  for (Isa isa : runnable_isas()) {
    const PackBitsKernels* t = pack_bits_kernels_for(isa);
    REQUIRE(t != nullptr);
    CAPTURE(isa_name(isa));
    for (int trial = 0; trial < 400; ++trial) {
      const size_t rows = uniform(rng, 1, 7), cols = trial < 200 ? static_cast<size_t>(trial + 1) : uniform(rng, 1, 700);
      const size_t src_stride = cols + uniform(rng, 0, 5), words = packed_words(cols);
      const size_t dst_stride = words + uniform(rng, 0, 3);
      std::vector<int8_t> src(rows * src_stride);
      for (int8_t& v : src) v = static_cast<int8_t>(static_cast<int>(uniform(rng, 0, 255)) - 128);
      for (size_t r = 0; r < rows; ++r)  // negatives between rows must not leak into the tail bits
        for (size_t k = cols; k < src_stride; ++k) src[r * src_stride + k] = -1;
      std::vector<bword> want(rows * dst_stride, ~bword{0}), got(rows * dst_stride, ~bword{0});
      ref.sign_bytes(src.data(), rows, cols, src_stride, want.data(), dst_stride);
      t->sign_bytes(src.data(), rows, cols, src_stride, got.data(), dst_stride);
      REQUIRE(got == want);
      for (size_t r = 0; r < rows; ++r) {
        bword word = 0;  // the reference's first word against the definition
        for (size_t k = 0; k < cols && k < 64; ++k)
          if (src[r * src_stride + k] < 0) word |= bword{1} << k;
        REQUIRE(want[r * dst_stride] == word);
        for (size_t w = words; w < dst_stride; ++w) REQUIRE(got[r * dst_stride + w] == ~bword{0});  // untouched
      }
    }
  }
}

TEST_CASE("pack_sign_bytes entry point: threads give the same bits, bad input is refused") {
  Rng rng(13);
  const size_t rows = 700, cols = 150, words = packed_words(cols);
  std::vector<int8_t> src(rows * cols);
  for (int8_t& v : src) v = uniform(rng, 0, 1) ? int8_t{1} : int8_t{-1};
  std::vector<bword> one(rows * words), many(rows * words), ref(rows * words);
  pack_bits_kernels_for(Isa::ref)->sign_bytes(src.data(), rows, cols, cols, ref.data(), words);
  CHECK(pack_sign_bytes(src.data(), rows, cols, cols, one.data(), words, one.size(), 1) == Status::ok);
  CHECK(pack_sign_bytes(src.data(), rows, cols, cols, many.data(), words, many.size(), 3) == Status::ok);
  CHECK(one == ref);
  CHECK(many == ref);
  CHECK(pack_sign_bytes(nullptr, 1, 10, 10, one.data(), 1, 8) == Status::null_pointer);
  CHECK(pack_sign_bytes(src.data(), 1, 10, 10, nullptr, 1, 8) == Status::null_pointer);
  CHECK(pack_sign_bytes(src.data(), 0, 10, 10, one.data(), 1, 8) == Status::bad_size);
  CHECK(pack_sign_bytes(src.data(), 2, 10, 9, one.data(), 1, 8) == Status::bad_size);     // src stride < cols
  CHECK(pack_sign_bytes(src.data(), 2, 100, 100, one.data(), 1, 8) == Status::bad_size);  // dst stride < words
  CHECK(pack_sign_bytes(src.data(), 2, 100, 100, one.data(), 2, 3) == Status::bad_size);  // capacity
}

TEST_CASE("validating pack entry points reject bad sizes, strides, capacities and null pointers") {
  std::vector<float> f(256, -1.0f);
  std::vector<bword> b(8, 0);
  CHECK(pack_sign_rows(nullptr, 1, 10, 10, b.data(), 1, 8) == Status::null_pointer);
  CHECK(pack_sign_rows(f.data(), 1, 10, 10, nullptr, 1, 8) == Status::null_pointer);
  CHECK(pack_sign_rows(f.data(), 0, 10, 10, b.data(), 1, 8) == Status::bad_size);
  CHECK(pack_sign_rows(f.data(), 1, 0, 10, b.data(), 1, 8) == Status::bad_size);
  CHECK(pack_sign_rows(f.data(), 2, 10, 9, b.data(), 1, 8) == Status::bad_size);     // src stride < cols
  CHECK(pack_sign_rows(f.data(), 2, 100, 100, b.data(), 1, 8) == Status::bad_size);  // dst stride < words
  CHECK(pack_sign_rows(f.data(), 2, 100, 100, b.data(), 2, 3) == Status::bad_size);  // capacity
  CHECK(pack_sign_rows(f.data(), 2, 100, 100, b.data(), 2, 4) == Status::ok);
  CHECK(b[0] == ~bword{0});
  CHECK(b[1] == tail_mask(100));
  CHECK(pack_nchw_to_nhwc_bits(f.data(), 1, 65, 1, 3, b.data(), 5) == Status::bad_size);
  CHECK(pack_nchw_to_nhwc_bits(f.data(), 1, 65, 1, 3, b.data(), 6) == Status::ok);
  CHECK(pack_nchw_to_nhwc_bits(f.data(), 1, 0, 1, 3, b.data(), 6) == Status::bad_size);
  std::vector<float> out(20);
  CHECK(unpack_sign_rows(b.data(), 2, 10, 1, out.data(), 10, 19) == Status::bad_size);
  CHECK(unpack_sign_rows(b.data(), 2, 10, 1, out.data(), 10, 20) == Status::ok);
  CHECK(unpack_sign_rows(b.data(), 2, 10, 0, out.data(), 10, 20) == Status::bad_size);
  CHECK(std::string(status_name(Status::bad_size)).size() > 0);
}
