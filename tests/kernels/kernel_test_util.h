// Shared helpers for the kernel tests: seeded random data in the packing convention, ISA iteration, garbage fill.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels::testing {

using Rng = std::mt19937_64;

// Every ISA this build and CPU can run (ref first).
inline std::vector<Isa> runnable_isas() {
  std::vector<Isa> out;
  for (int i = 0; i < kIsaCount; ++i)
    if (isa_supported(static_cast<Isa>(i))) out.push_back(static_cast<Isa>(i));
  return out;
}

inline size_t uniform(Rng& rng, size_t lo, size_t hi) {  // inclusive
  return std::uniform_int_distribution<size_t>(lo, hi)(rng);
}

// rows × cols ±1 values packed with row stride ld (≥ packed_words(cols)): element bits random, tail bits 0 and
// words between packed_words(cols) and ld filled with `gap` (garbage a kernel must not read).
inline std::vector<bword> random_bits(Rng& rng, size_t rows, size_t cols, size_t ld, bword gap = 0) {
  const size_t words = packed_words(cols);
  std::vector<bword> v(rows * ld + kPackedOverreadBytes / sizeof(bword), gap);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t w = 0; w < words; ++w) v[r * ld + w] = rng();
    v[r * ld + words - 1] &= tail_mask(cols);
  }
  return v;
}

// Floats in [−1, 1) with some exact zeros and negative zeros (sign(0) = sign(−0) = +1 must hold).
inline std::vector<float> random_floats(Rng& rng, size_t n) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) {
    const auto r = rng() % 16;
    x = r == 0 ? 0.0f : r == 1 ? -0.0f : u(rng);
  }
  return v;
}

// A ±1 vector as floats from packed bits.
inline float pm1(const bword* row, size_t k) { return (row[k / kBitsPerWord] >> (k % kBitsPerWord)) & 1u ? -1.0f : 1.0f; }

}  // namespace lowbit::kernels::testing
