// Image classification data sets held in memory as uint8 pixels (NCHW) and int32 labels, and the readers for
// the official file formats: IDX (MNIST, Fashion-MNIST; raw or gzip), CIFAR-10 binary, SVHN `*_32x32.mat`.
// Every reader checks sizes against the file's own header and throws lowbit::Error naming the file and what
// is wrong (truncated, wrong magic, label out of range, counts that disagree).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lowbit::nn {

struct ImageDataset {
  std::string name;              // "fashion-mnist/train", "cifar10/test", ...
  int64_t n = 0;                 // number of images
  int c = 0, h = 0, w = 0;       // image shape
  int num_classes = 0;
  std::vector<uint8_t> pixels;   // n·c·h·w bytes, NCHW
  std::vector<int32_t> labels;   // n labels in [0, num_classes)
  // CRC-32 of the decoded content (pixels, then labels as little-endian int32), so a raw and a gzipped copy
  // of the same data agree. Recorded in results JSON to identify the exact data a number came from.
  uint32_t checksum = 0;

  int64_t image_size() const { return static_cast<int64_t>(c) * h * w; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_size(); }
  // Images [begin, end) as a new data set (copies); the checksum is recomputed.
  ImageDataset slice(int64_t begin, int64_t end, const std::string& new_name) const;
  void compute_checksum();
  // Throws lowbit::Error if sizes disagree or a label is out of range.
  void validate() const;
};

// The last `holdout` images of `train` become the validation set ("<name>/holdout"), the rest the training set
// ("<name>/fit"). A fixed split (no shuffling) so every run validates on the same images.
std::pair<ImageDataset, ImageDataset> split_holdout(const ImageDataset& train, int64_t holdout);

// Whole file into memory; a gzip file (magic 1f 8b) is inflated transparently. Throws on I/O errors and on a
// truncated or corrupt gzip stream.
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path);

// Largest image side an IDX file may declare, and most images a data set may hold (bounds that keep every
// size product and index far from overflow; the real data sets are 28x28 and 73257 images at most).
constexpr uint32_t kMaxIdxSide = 1u << 14;
constexpr int64_t kMaxImages = int64_t{1} << 31;

// IDX: big-endian magic 0x00000803 (uint8, 3 dims: n, rows, cols) for images, 0x00000801 (uint8, 1 dim) for
// labels. Raw or gzip.
ImageDataset read_idx(const std::string& images_path, const std::string& labels_path, const std::string& name,
                      int num_classes = 10);

// The same from bytes already in memory; the paths only name the sources in error messages.
ImageDataset decode_idx(const std::vector<uint8_t>& images, const std::string& images_path,
                        const std::vector<uint8_t>& labels, const std::string& labels_path, const std::string& name,
                        int num_classes = 10);

// CIFAR-10 binary: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, each 32×32 row-major),
// concatenated over the given files in order.
ImageDataset read_cifar10_bin(const std::vector<std::string>& paths, const std::string& name);
// Appends the records of one file's bytes to ds (a CIFAR-10 shaped set, possibly empty); path names the
// source in error messages.
void append_cifar10_records(ImageDataset& ds, const uint8_t* bytes, size_t size, const std::string& path);

// SVHN format 2 (`train_32x32.mat`, `test_32x32.mat`): a MAT-file with X (32×32×3×N, column-major, uint8 or any
// numeric class holding bytes) and y (N×1, labels 1..10 where 10 means digit 0), read by libmatio: level 5
// compressed (v7) and uncompressed (v6) files, and v7.3 (HDF5) files.
ImageDataset read_svhn_mat(const std::string& path, const std::string& name);

}  // namespace lowbit::nn
