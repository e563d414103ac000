// No allocation after init: this test binary replaces the C allocator (glibc's malloc family, which operator new
// also uses) with counting wrappers around glibc's own, and counts the calls while lowbit_run executes models
// whose arena is already prepared, and while a fresh arena is prepared (weights repacked into it).
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/include/lowbit.h"
#include "tests/runtime/lbm_test_models.h"

#if defined(__GLIBC__)
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
inline void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) {
  count();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  count();
  void* p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) { __libc_free(p); }
}

using namespace lowbit::runtime;
using namespace lowbit::runtime::testing;

TEST_CASE("runtime: lowbit_prepare and lowbit_run allocate nothing") {
  const std::vector<uint8_t> bytes = tiny_binary_model(3).bytes();
  lowbit_model m;
  REQUIRE(lowbit_model_init(bytes.data(), bytes.size(), &m) == LOWBIT_OK);
  REQUIRE(lowbit_model_set_batch(&m, 4) == LOWBIT_OK);
  const size_t n = lowbit_arena_size(&m);
  std::vector<uint8_t> a1(n + 64), a2(n + 64);
  auto aligned = [](std::vector<uint8_t>& v) {
    return reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(v.data()) + 63) / 64 * 64);
  };
  lowbit_arena arena{aligned(a1), n}, fresh{aligned(a2), n};
  std::mt19937_64 rng(2);
  const std::vector<float> x = random_floats(rng, 4 * 72, -1.0f, 1.0f);
  std::vector<float> y(12);
  lowbit_input in{x.data(), 4, 2, 6, 6};
  lowbit_output out{y.data(), y.size(), 0, 0};
  for (int threads : {1, 2}) {
    m.threads = threads;
    REQUIRE(lowbit_run(&m, &arena, &in, &out) == LOWBIT_OK);  // warm-up: OpenMP starts its threads here
    g_allocs = 0;
    g_counting = true;
    const lowbit_status s1 = lowbit_run(&m, &arena, &in, &out);
    const lowbit_status s2 = lowbit_prepare(&m, &fresh);
    const lowbit_status s3 = lowbit_run(&m, &fresh, &in, &out);
    g_counting = false;
    CHECK(s1 == LOWBIT_OK);
    CHECK(s2 == LOWBIT_OK);
    CHECK(s3 == LOWBIT_OK);
    CHECK_MESSAGE(g_allocs.load() == 0, "threads ", threads);
  }
  // The counter works: an allocation while counting is seen.
  g_counting = true;
  void* volatile p = std::malloc(16);
  g_counting = false;
  std::free(p);
  CHECK(g_allocs.load() == 1);
}
#endif
