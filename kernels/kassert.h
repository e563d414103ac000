// Kernel preconditions: checked in debug builds (abort with file:line), free in release builds. Kernels never
// throw and never allocate; public pack entry points validate and return Status instead (kernels/packing.h).
#pragma once
#if !defined(NDEBUG) && !defined(LOWBIT_FIRMWARE)
#include <cstdio>
#include <cstdlib>
#define LOWBIT_KASSERT(cond)                                                                      \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "%s:%d: kernel precondition failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
#else
#define LOWBIT_KASSERT(cond) ((void)0)
#endif
