// No allocation after init: this test binary counts the calls of the C allocator (glibc's malloc family, which
// operator new also uses) while lowbit_run executes models whose arena is already prepared, and while a fresh
// arena is prepared (weights repacked into it). It replaces the allocator with counting wrappers around glibc's
// own; under AddressSanitizer, which owns the allocator (a replacement would run before ASan is initialised), it
// counts through ASan's allocation hook instead.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <vector>

#include "runtime/include/lowbit.h"
#include "tests/runtime/lbm_test_models.h"

#if defined(__SANITIZE_ADDRESS__)
#define LOWBIT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOWBIT_TEST_ASAN 1
#endif
#endif

#if defined(__GLIBC__) || defined(LOWBIT_TEST_ASAN)
namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
inline void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

#if defined(LOWBIT_TEST_ASAN)
// The sanitizer runtime's hook interface (sanitizer/allocator_interface.h, which not every compiler ships).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, size_t),
                                                         void (*free_hook)(const volatile void*));
namespace {
void on_malloc(const volatile void*, size_t) { count(); }
void on_free(const volatile void*) {}
const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace
#else
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

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
#endif

using namespace lowbit::runtime;
using namespace lowbit::runtime::testing;

TEST_CASE("runtime: lowbit_prepare and lowbit_run allocate nothing") {
#if defined(LOWBIT_TEST_ASAN)
  REQUIRE(g_hooks_installed != 0);
#endif
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
#if defined(LOWBIT_TEST_ASAN)
    // ASan's hook also sees memalign, which the glibc wrappers above do not replace: libgomp allocates a team
    // (memalign) for every parallel region that runs on one thread (an `if` clause that is false, num_threads(1)),
    // so the count is not lowbit's own here. The calls still run under ASan.
    MESSAGE("threads ", threads, ": ", g_allocs.load(), " allocations seen by ASan's hook (libgomp's teams included)");
#else
    CHECK_MESSAGE(g_allocs.load() == 0, "threads ", threads);
#endif
  }
  g_allocs = 0;
  // The counter works: an allocation while counting is seen.
  g_counting = true;
  void* volatile p = std::malloc(16);
  g_counting = false;
  std::free(p);
  CHECK(g_allocs.load() == 1);
}
#endif
