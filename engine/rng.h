// The one RNG type: xoshiro256** seeded through splitmix64. Same seed + same thread count => same run.
// Parallel code never shares an Rng; it forks child streams (fork(k)) deterministically.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace lowbit {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x5EEDULL);
  uint64_t next_u64();
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
  float uniform();                          // [0, 1)
  float uniform(float lo, float hi);        // [lo, hi)
  float normal(float mean = 0.0f, float stddev = 1.0f);
  uint64_t below(uint64_t n);               // uniform in [0, n), unbiased
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(i))]);
  }
  Rng fork(uint64_t stream) const;          // independent child stream, deterministic in (state, stream)
  // Serialisable state for bit-exact resume.
  std::vector<uint64_t> state() const;
  void set_state(const std::vector<uint64_t>& s);  // throws lowbit::Error on a bad size

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  float spare_ = 0.0f;
};

}  // namespace lowbit
