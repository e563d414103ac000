// Fuzz target: the .lbm loader and, for every file it accepts, the planner and the executor. Input layout: one
// mode byte, then the file. Mode bit 0 set: the file's trailing CRC-32 is recomputed first, so mutations reach
// the field checks behind the checksum. An accepted model runs one image of zeros and one of ones in an arena of
// lowbit_arena_size bytes (skipped above 64 MiB); any status is fine, a crash or a sanitizer report is a finding.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/format.h"
#include "runtime/include/lowbit.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ++data, --size;
  std::vector<uint64_t> words(size / 8 + 1);  // 8-byte aligned copy: the loader requires it
  uint8_t* blob = reinterpret_cast<uint8_t*>(words.data());
  std::memcpy(blob, data, size);
  if ((mode & 1) && size >= 4) {
    const uint32_t crc = lowbit::runtime::lbm_crc32(0, blob, size - 4);
    for (int i = 0; i < 4; ++i) blob[size - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  }
  lowbit_model m;
  if (lowbit_model_init(blob, size, &m) != LOWBIT_OK) return 0;
  lowbit_info info;
  if (lowbit_model_info(&m, &info) != LOWBIT_OK) return 0;
  for (uint32_t i = 0; i < info.ops; ++i) {
    lowbit_op_desc d;
    lowbit_op_info(&m, i, &d);
  }
  const uint64_t bytes = lowbit_arena_size(&m);
  const uint64_t in = uint64_t(info.in_c) * uint64_t(info.in_h) * uint64_t(info.in_w);
  if (bytes == 0 || bytes > (64u << 20) || in > (1u << 22) || info.classes > (1 << 20)) return 0;
  void* arena = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!arena) return 0;
  std::vector<float> x(in), y(size_t(info.classes));
  lowbit_arena a{arena, bytes};
  for (float v : {0.0f, 1.0f}) {
    for (float& f : x) f = v;
    lowbit_input li{x.data(), 1, info.in_c, info.in_h, info.in_w};
    lowbit_output lo{y.data(), y.size(), 0, 0};
    lowbit_run(&m, &a, &li, &lo);
  }
  std::free(arena);
  return 0;
}
