// Fuzz target: the IDX reader (MNIST / Fashion-MNIST images + labels). Input layout: a little-endian u32 k,
// then the images file (k bytes, clamped to what is there), then the labels file (the rest).
#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t k = size_t{data[0]} | size_t{data[1]} << 8 | size_t{data[2]} << 16 | size_t{data[3]} << 24;
  k = std::min(k, size - 4);
  const std::vector<uint8_t> images(data + 4, data + 4 + k), labels(data + 4 + k, data + size);
  try {
    const lowbit::nn::ImageDataset ds = lowbit::nn::decode_idx(images, "images.idx", labels, "labels.idx", "fuzz", 10);
    ds.validate();
  } catch (const lowbit::Error&) {
  }
  return 0;
}
