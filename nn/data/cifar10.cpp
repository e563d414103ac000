// CIFAR-10 "binary version": each file is a sequence of 3073-byte records, <1 label byte><3072 pixel bytes>,
// the pixels already channel-planar (1024 red, 1024 green, 1024 blue; each plane 32 rows of 32), i.e. CHW.
#include <string>

#include "engine/error.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

ImageDataset read_cifar10_bin(const std::vector<std::string>& paths, const std::string& name) {
  constexpr int64_t kPixels = 3 * 32 * 32;
  constexpr int64_t kRecord = 1 + kPixels;
  LOWBIT_CHECK(!paths.empty(), "CIFAR-10 data set '{}': no files given", name);
  ImageDataset ds;
  ds.name = name;
  ds.c = 3;
  ds.h = 32;
  ds.w = 32;
  ds.num_classes = 10;
  for (const std::string& path : paths) {
    const std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
    const int64_t size = static_cast<int64_t>(bytes.size());
    LOWBIT_CHECK(size > 0, "CIFAR-10 file '{}' is empty", path);
    LOWBIT_CHECK(size % kRecord == 0,
                 "CIFAR-10 file '{}' is truncated or not a CIFAR-10 binary batch: {} bytes is not a whole number "
                 "of {}-byte records (1 label + 3072 pixels)",
                 path, size, kRecord);
    const int64_t records = size / kRecord;
    ds.pixels.reserve(ds.pixels.size() + records * kPixels);
    for (int64_t r = 0; r < records; ++r) {
      const uint8_t* rec = bytes.data() + r * kRecord;
      LOWBIT_CHECK(rec[0] < 10, "CIFAR-10 file '{}': record {} has label {} (expected 0..9); is this CIFAR-100?",
                   path, r, rec[0]);
      ds.labels.push_back(rec[0]);
      ds.pixels.insert(ds.pixels.end(), rec + 1, rec + kRecord);
    }
    ds.n += records;
  }
  ds.compute_checksum();
  return ds;
}

}  // namespace lowbit::nn
