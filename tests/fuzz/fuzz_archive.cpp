// Fuzz target: the tensor archive (.lbar: state dicts and checkpoints). Each input is decoded twice: as it
// is, and with its size field and CRC made consistent, so mutations also reach the table and payload checks
// behind the CRC (a crafted file can carry a valid CRC).
#include <zlib.h>

#include <vector>

#include "engine/error.h"
#include "nn/archive.h"
#include "tests/fuzz/fuzz_target.h"

namespace {
void decode(const uint8_t* data, size_t size) {
  try {
    const lowbit::nn::Archive a = lowbit::nn::decode_archive(data, size, "fuzz.lbar");
    (void)a.with_prefix("model.");
    (void)a.meta.dump();
    for (const auto& t : a.tensors) (void)a.get(t.first).numel();
  } catch (const lowbit::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  decode(data, size);
  if (size < 28) return 0;
  std::vector<uint8_t> fixed(data, data + size);
  for (int i = 0; i < 8; ++i) fixed[8 + i] = static_cast<uint8_t>(uint64_t{size} >> (8 * i));
  const uint32_t crc = static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), fixed.data(), static_cast<uInt>(size - 4)));
  for (int i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
  decode(fixed.data(), fixed.size());
  return 0;
}
