// Caching allocator behind Tensor storage (process-wide infrastructure, the one piece of global state in engine
// besides dispatch tables).
//
// Why: a training step allocates and frees the same activation- and gradient-sized blocks (up to a few MB)
// every step. Returned to malloc, those blocks go back to the kernel (trim / munmap) and come back as fresh
// pages that fault and are zeroed on first touch: measured 20-25 % of a ResNet-20 step. Here a freed block
// of at least kCacheMinBytes is kept on a free list for its size class and handed out again for the next
// request of that class, so in steady state a step allocates nothing from the system.
//
// Size classes: the request is rounded up to a multiple of 1/8 of its power of two (≤ 12.5 % slack; powers of
// two and other round sizes are exact). Blocks are 64-byte aligned. Thread-safe (one mutex; a step makes a few
// hundred allocations, so contention is negligible). The cache never exceeds a byte limit (default 4096 MB):
// a freed block that would push it over goes back to the system.
//
// Debugging: LOWBIT_ALLOC_CACHE=0 in the environment (read once, at the first allocation) or
// set_alloc_cache_enabled(false) turns caching off, so every block goes straight to aligned_alloc / free and
// tools like valgrind or ASan see each tensor's lifetime; LOWBIT_ALLOC_CACHE_MB=N sets the byte limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace lowbit {

inline constexpr size_t kCacheMinBytes = 16 * 1024;  // smaller blocks: malloc's own bins already reuse them

// A 64-byte aligned block of at least `bytes` bytes (never null; throws lowbit::Error when out of memory).
// Must be released with alloc_free(p, bytes) with the same `bytes`.
void* alloc_block(size_t bytes);
void alloc_free(void* p, size_t bytes);

struct AllocStats {
  int64_t cached_bytes = 0;  // held on free lists right now
  int64_t hits = 0;          // requests served from the cache
  int64_t misses = 0;        // requests that went to the system (cacheable sizes only)
};
AllocStats alloc_stats();
// Frees every cached block back to the system (live blocks are untouched).
void alloc_release_cached();
// Turns caching on or off at run time (off also releases the cache). Blocks handed out while it was on are
// still accepted by alloc_free afterwards.
void set_alloc_cache_enabled(bool on);
bool alloc_cache_enabled();

// Uninitialised float scratch from the same cache, for ops' temporaries (e.g. conv's unfolded columns), owned
// by scope.
class ScratchFloats {
 public:
  explicit ScratchFloats(int64_t n) : bytes_(static_cast<size_t>(n > 0 ? n : 1) * sizeof(float)) {
    p_ = static_cast<float*>(alloc_block(bytes_));
  }
  ~ScratchFloats() { alloc_free(p_, bytes_); }
  ScratchFloats(const ScratchFloats&) = delete;
  ScratchFloats& operator=(const ScratchFloats&) = delete;
  float* data() { return p_; }

 private:
  size_t bytes_;
  float* p_;
};

// STL allocator over the same cache, for per-step std::vectors of trivial elements (quantizer codes): blocks
// come from the cache, and resize() default-initialises, i.e. leaves new elements unwritten, so a vector that
// is about to be filled completely costs neither a memset nor fresh pages.
template <class T>
struct CachedAllocator {
  static_assert(std::is_trivial<T>::value, "CachedAllocator: trivial element types only (resize leaves them unset)");
  using value_type = T;
  CachedAllocator() = default;
  template <class U>
  CachedAllocator(const CachedAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(alloc_block(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { alloc_free(p, n * sizeof(T)); }
  template <class U>
  void construct(U* p) {
    ::new (static_cast<void*>(p)) U;  // default-initialisation: no zeroing
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
  template <class U>
  bool operator==(const CachedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const CachedAllocator<U>&) const { return false; }
};

}  // namespace lowbit
