// Helpers for the tgemm / bitserial / qgemm / plane and nibble packing tests: a seeded generator, aligned
// buffers with the over-read slack kernels may use, and the list of ISAs a family table exists for.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels::multi_test {

// 64-byte aligned buffer of T with kPackedOverreadBytes of (garbage-filled) slack after `n` elements.
template <class T>
class Buf {
 public:
  explicit Buf(size_t n = 0) { resize(n); }
  void resize(size_t n) {
    n_ = n;
    std::free(p_);
    const size_t bytes = (n * sizeof(T) + kPackedOverreadBytes + 63) / 64 * 64;
    p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    std::memset(static_cast<void*>(p_), 0xA5, bytes);
  }
  ~Buf() { std::free(p_); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  T* data() { return p_; }
  const T* data() const { return p_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
  size_t size(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(g); }
  float real(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(g); }
};

// ISAs (other than ref) whose table `for_isa` returns; call as isas_with(tgemm_kernels_for).
template <class Fn>
std::vector<Isa> isas_with(Fn for_isa) {
  std::vector<Isa> out;
  for (int i = 1; i < kIsaCount; ++i)
    if (for_isa(static_cast<Isa>(i)) != nullptr) out.push_back(static_cast<Isa>(i));
  return out;
}

// Every table this build and CPU can run, ref first; call as all_tables(tgemm_kernels_for).
template <class Table>
std::vector<const Table*> all_tables(const Table* (*for_isa)(Isa)) {
  std::vector<const Table*> out{for_isa(Isa::ref)};
  for (Isa i : isas_with(for_isa)) out.push_back(for_isa(i));
  return out;
}

}  // namespace lowbit::kernels::multi_test
