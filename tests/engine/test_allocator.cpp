#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "engine/allocator.h"
#include "engine/tensor.h"

using namespace lowbit;

TEST_CASE("allocator: a freed block of a cacheable size is reused for the next request of its size class") {
  set_alloc_cache_enabled(true);
  const size_t bytes = 3 * 1000 * 1000;  // not a power of two: rounded up to its size class
  void* a = alloc_block(bytes);
  CHECK(reinterpret_cast<uintptr_t>(a) % 64 == 0);
  std::memset(a, 0x5a, bytes);  // the whole requested size is usable
  const AllocStats s0 = alloc_stats();
  alloc_free(a, bytes);
  CHECK(alloc_stats().cached_bytes >= s0.cached_bytes + static_cast<int64_t>(bytes));
  void* b = alloc_block(bytes - 100);  // same size class
  CHECK(b == a);
  CHECK(alloc_stats().hits == s0.hits + 1);
  void* c = alloc_block(bytes);  // the cached block is taken: this one is new
  CHECK(c != b);
  alloc_free(b, bytes - 100);
  alloc_free(c, bytes);
  alloc_release_cached();
  CHECK(alloc_stats().cached_bytes == 0);
}

TEST_CASE("allocator: tensors recycle storage across iterations, and with the cache disabled blocks still free correctly") {
  set_alloc_cache_enabled(true);
  const float* first = nullptr;
  {
    Tensor t = Tensor::empty(Shape{64, 16, 32});
    first = t.data();
  }
  {
    Tensor t = Tensor::zeros(Shape{64, 16, 32});  // reused block, and zeros() really zero-fills it
    CHECK(t.data() == first);
    for (int64_t i = 0; i < t.numel(); i += 97) CHECK(t[i] == 0.0f);
  }
  Tensor live = Tensor::full(Shape{64, 16, 32}, 2.0f);
  set_alloc_cache_enabled(false);
  CHECK_FALSE(alloc_cache_enabled());
  CHECK(alloc_stats().cached_bytes == 0);
  {
    Tensor t = Tensor::empty(Shape{64, 16, 32});
    CHECK(t.data() != live.data());
  }
  CHECK(alloc_stats().cached_bytes == 0);  // nothing is cached while disabled
  live = Tensor();                          // a block from the enabled period goes back to the system too
  CHECK(alloc_stats().cached_bytes == 0);
  set_alloc_cache_enabled(true);
  {
    ScratchFloats s(100000);
    s.data()[99999] = 1.0f;
  }
  CHECK(alloc_stats().cached_bytes > 0);
}
