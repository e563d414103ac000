// A packed model file (.lbm) loaded for the runtime's C API, for the commands that run or inspect one (run,
// info, bench-model): the bytes in 64-byte aligned memory, lowbit_model_init's verdict as a lowbit::Error that
// names the file, and an arena of lowbit_arena_size bytes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/include/lowbit.h"

namespace lowbit::app {

// True when the file starts with the .lbm magic (runtime/FORMAT.md).
bool is_lbm_file(const std::string& path);

class LoadedLbm {
 public:
  // Reads and validates `path`; throws lowbit::Error naming the file and what is wrong.
  explicit LoadedLbm(const std::string& path);
  LoadedLbm(const LoadedLbm&) = delete;
  LoadedLbm& operator=(const LoadedLbm&) = delete;

  // Throws lowbit::Error naming the file, the call and the runtime's message unless s is LOWBIT_OK.
  void check(lowbit_status s, const char* call) const;
  // (Re)allocates `arena` for the model's current max_batch.
  void allocate_arena();
  size_t file_bytes() const { return bytes_; }

  std::string path;
  lowbit_model model{};
  lowbit_arena arena{};

 private:
  struct alignas(64) Line {
    unsigned char b[64];
  };
  std::vector<Line> blob_, arena_mem_;
  size_t bytes_ = 0;
};

}  // namespace lowbit::app
