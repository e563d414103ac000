// CIFAR-10 "binary version": each file is a sequence of 3073-byte records, <1 label byte><3072 pixel bytes>,
// the pixels already channel-planar (1024 red, 1024 green, 1024 blue; each plane 32 rows of 32), i.e. CHW.
// Sizes are checked before use: a file is a whole number of records, and the image count over all files
// stays within kMaxImages (so n·3072 and every index fit in int64 and the labels' int32 count).
#include <string>

#include "engine/error.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

namespace {
constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int64_t kRecord = 1 + kPixels;
}  // namespace

void append_cifar10_records(ImageDataset& ds, const uint8_t* bytes, size_t size, const std::string& path) {
  LOWBIT_CHECK(size > 0, "CIFAR-10 file '{}' is empty", path);
  LOWBIT_CHECK(size % kRecord == 0,
               "CIFAR-10 file '{}' is truncated or not a CIFAR-10 binary batch: {} bytes is not a whole number "
               "of {}-byte records (1 label + 3072 pixels)",
               path, size, kRecord);
  const uint64_t records = size / kRecord;
  LOWBIT_CHECK(ds.n >= 0 && records <= uint64_t(kMaxImages - ds.n),
               "CIFAR-10 file '{}': {} records after {} earlier ones exceed the limit of {} images", path, records,
               ds.n, kMaxImages);
  LOWBIT_CHECK(ds.pixels.size() == size_t(ds.n) * kPixels && ds.labels.size() == size_t(ds.n),
               "CIFAR-10 file '{}': data set '{}' holds {} pixel bytes and {} labels for {} images", path, ds.name,
               ds.pixels.size(), ds.labels.size(), ds.n);
  ds.pixels.reserve(ds.pixels.size() + records * kPixels);
  ds.labels.reserve(ds.labels.size() + records);
  for (uint64_t r = 0; r < records; ++r) {
    const uint8_t* rec = bytes + r * kRecord;
    LOWBIT_CHECK(rec[0] < 10, "CIFAR-10 file '{}': record {} has label {} (expected 0..9); is this CIFAR-100?", path,
                 r, rec[0]);
    ds.labels.push_back(rec[0]);
    ds.pixels.insert(ds.pixels.end(), rec + 1, rec + kRecord);
  }
  ds.n += static_cast<int64_t>(records);
}

ImageDataset read_cifar10_bin(const std::vector<std::string>& paths, const std::string& name) {
  LOWBIT_CHECK(!paths.empty(), "CIFAR-10 data set '{}': no files given", name);
  ImageDataset ds;
  ds.name = name;
  ds.c = 3;
  ds.h = 32;
  ds.w = 32;
  ds.num_classes = 10;
  for (const std::string& path : paths) {
    const std::vector<uint8_t> bytes = read_file_maybe_gzip(path);
    append_cifar10_records(ds, bytes.data(), bytes.size(), path);
  }
  ds.compute_checksum();
  return ds;
}

}  // namespace lowbit::nn
