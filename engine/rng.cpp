// xoshiro256** (Blackman & Vigna) with its state seeded through splitmix64, so any 64-bit seed, including 0,
// gives a well-mixed non-zero state. Normals by Box-Muller; the second value of each pair is kept as a spare.
#include "engine/rng.h"

#include <cmath>
#include <cstring>

#include "engine/error.h"

namespace lowbit {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

// 24 high bits -> exactly representable floats k·2^-24, so the result is < 1 without rounding up.
float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }

float Rng::uniform(float lo, float hi) {
  const float r = lo + (hi - lo) * uniform();
  return r < hi ? r : lo;  // guard the rounding edge case lo + (hi-lo)·u == hi
}

float Rng::normal(float mean, float stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * spare_;
  }
  // u1 in (0, 1] so log(u1) is finite; computed in double for accuracy in the tails.
  const double u1 = (static_cast<double>(next_u64() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  const double u2 = static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0);
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double a = 6.283185307179586476925 * u2;
  spare_ = static_cast<float>(r * std::sin(a));
  has_spare_ = true;
  return mean + stddev * static_cast<float>(r * std::cos(a));
}

uint64_t Rng::below(uint64_t n) {
  LOWBIT_CHECK(n > 0, "Rng::below: n must be positive");
  // Lemire's multiply-shift with rejection of the biased low region.
  uint64_t x = next_u64();
  __uint128_t m = static_cast<__uint128_t>(x) * n;
  uint64_t l = static_cast<uint64_t>(m);
  if (l < n) {
    const uint64_t t = (0 - n) % n;
    while (l < t) {
      x = next_u64();
      m = static_cast<__uint128_t>(x) * n;
      l = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

Rng Rng::fork(uint64_t stream) const {
  // Mix the whole parent state and the stream id through splitmix64: children of different streams (and the
  // parent) have unrelated states; the parent is not advanced, so forking is deterministic and side-effect free.
  uint64_t x = stream * 0xD1B54A32D192ED03ULL;
  for (int i = 0; i < 4; ++i) {
    x ^= s_[i];
    splitmix64(x);
  }
  Rng child(0);
  for (uint64_t& s : child.s_) s = splitmix64(x);
  return child;
}

std::vector<uint64_t> Rng::state() const {
  uint32_t spare_bits;
  static_assert(sizeof(spare_bits) == sizeof(spare_), "float is 32-bit");
  std::memcpy(&spare_bits, &spare_, sizeof(spare_bits));
  return {s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1ULL : 0ULL, spare_bits};
}

void Rng::set_state(const std::vector<uint64_t>& s) {
  LOWBIT_CHECK(s.size() == 6, "Rng::set_state: expected 6 words, got {}", s.size());
  LOWBIT_CHECK(s[0] | s[1] | s[2] | s[3], "Rng::set_state: all-zero xoshiro state is invalid");
  LOWBIT_CHECK(s[4] <= 1 && s[5] <= 0xFFFFFFFFULL, "Rng::set_state: corrupt spare-normal words");
  for (int i = 0; i < 4; ++i) s_[i] = s[i];
  has_spare_ = s[4] != 0;
  const uint32_t spare_bits = static_cast<uint32_t>(s[5]);
  std::memcpy(&spare_, &spare_bits, sizeof(spare_bits));
}

}  // namespace lowbit
