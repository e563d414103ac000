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

// IDX: big-endian magic 0x00000803 (uint8, 3 dims: n, rows, cols) for images, 0x00000801 (uint8, 1 dim) for
// labels. Raw or gzip.
ImageDataset read_idx(const std::string& images_path, const std::string& labels_path, const std::string& name,
                      int num_classes = 10);

// CIFAR-10 binary: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B, each 32×32 row-major),
// concatenated over the given files in order.
ImageDataset read_cifar10_bin(const std::vector<std::string>& paths, const std::string& name);

// SVHN format 2 (`train_32x32.mat`, `test_32x32.mat`): a MATLAB level-5 MAT-file with X (uint8, 32×32×3×N,
// column-major) and y (N×1, labels 1..10 where 10 means digit 0). Compressed (v7) and uncompressed (v6) files.
ImageDataset read_svhn_mat(const std::string& path, const std::string& name);

}  // namespace lowbit::nn
