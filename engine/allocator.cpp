// Size-class caching allocator for Tensor storage: see allocator.h for why and how.
#include "engine/allocator.h"

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/error.h"

namespace lowbit {

namespace {

// Rounds up to a multiple of 64 bytes and to 1/8 of the power of two at or below the size.
size_t size_class(size_t bytes) {
  bytes = bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
  if (bytes < kCacheMinBytes) return bytes;
  size_t pow2 = 1;
  while (pow2 <= bytes / 2) pow2 *= 2;
  const size_t step = pow2 / 8;
  return (bytes + step - 1) / step * step;
}

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  LOWBIT_CHECK(end && *end == '\0' && x >= 0, "{}={}: expected a non-negative integer", name, v);
  return x;
}

void* system_alloc(size_t cls) {
  void* p = std::aligned_alloc(64, cls);
  if (!p) throw Error(fmt::format("out of memory allocating {} bytes of tensor storage", cls));
  return p;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;  // size class -> blocks
  bool enabled = true;
  size_t limit = 0;
  size_t cached = 0;
  int64_t hits = 0, misses = 0;

  Cache() {
    enabled = env_long("LOWBIT_ALLOC_CACHE", 1) != 0;
    limit = static_cast<size_t>(env_long("LOWBIT_ALLOC_CACHE_MB", 4096)) << 20;
  }

  void release_locked() {
    for (auto& [cls, list] : free_lists)
      for (void* p : list) std::free(p);
    free_lists.clear();
    cached = 0;
  }
};

// Constructed on first use (so the environment is read then) and never destroyed: tensors held by other
// static objects may be freed during exit, after a destructed cache could no longer take them.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

}  // namespace

void* alloc_block(size_t bytes) {
  const size_t cls = size_class(bytes);
  if (cls < kCacheMinBytes) return system_alloc(cls);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.enabled) {
      auto it = c.free_lists.find(cls);
      if (it != c.free_lists.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        c.cached -= cls;
        ++c.hits;
        return p;
      }
      ++c.misses;
    }
  }
  return system_alloc(cls);
}

void alloc_free(void* p, size_t bytes) {
  if (!p) return;
  const size_t cls = size_class(bytes);
  if (cls >= kCacheMinBytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.enabled && c.cached + cls <= c.limit) {
      c.free_lists[cls].push_back(p);
      c.cached += cls;
      return;
    }
  }
  std::free(p);
}

AllocStats alloc_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  AllocStats s;
  s.cached_bytes = static_cast<int64_t>(c.cached);
  s.hits = c.hits;
  s.misses = c.misses;
  return s;
}

void alloc_release_cached() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.release_locked();
}

void set_alloc_cache_enabled(bool on) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.enabled = on;
  if (!on) c.release_locked();
}

bool alloc_cache_enabled() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.enabled;
}

}  // namespace lowbit
