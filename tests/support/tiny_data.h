// Small learnable data sets the tests make themselves, shared so every suite trains on the same problem:
//   synthetic_bars(n, seed, name)      an in-memory 28x28x1, 10-class ImageDataset: class k lights a 4-pixel-high
//                                      bar at rows 2k+2..2k+5, on uniform noise
//   write_tiny_mnist(dir, prefix, n)   the same kind of problem as MNIST IDX files on disk (images gzipped, labels
//                                      raw), for tests that run the CLI with --data-dir
// Header-only (tests/support/).
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/rng.h"
#include "nn/data/dataset.h"

namespace lowbit::test {

inline nn::ImageDataset synthetic_bars(int64_t n, uint64_t seed, const std::string& name) {
  nn::ImageDataset d;
  d.name = name;
  d.n = n;
  d.c = 1;
  d.h = 28;
  d.w = 28;
  d.num_classes = 10;
  Rng rng(seed);
  d.pixels.resize(n * 784);
  for (int64_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(rng.below(10));
    d.labels.push_back(k);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool bar = y >= 2 * k + 2 && y < 2 * k + 6 && x > 4 && x < 24;
        d.pixels[i * 784 + y * 28 + x] = static_cast<uint8_t>(rng.below(80) + (bar ? 150 : 0));
      }
  }
  d.compute_checksum();
  return d;
}

inline void put_be32(std::string& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>(v >> s));
}

// <dir>/<prefix>-images-idx3-ubyte.gz and <dir>/<prefix>-labels-idx1-ubyte: class k = (7i mod 10) brightens rows
// 2k+2..2k+5.
inline void write_tiny_mnist(const std::filesystem::path& dir, const std::string& prefix, int n) {
  std::filesystem::create_directories(dir);
  std::string img, lab;
  put_be32(img, 0x803);
  put_be32(img, n);
  put_be32(img, 28);
  put_be32(img, 28);
  put_be32(lab, 0x801);
  put_be32(lab, n);
  for (int i = 0; i < n; ++i) {
    const int k = (i * 7) % 10;
    lab.push_back(static_cast<char>(k));
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        img.push_back(static_cast<char>((y >= 2 * k + 2 && y < 2 * k + 6) ? 200 : (i * x + y) % 40));
  }
  gzFile gz = gzopen((dir / (prefix + "-images-idx3-ubyte.gz")).string().c_str(), "wb");
  gzwrite(gz, img.data(), static_cast<unsigned>(img.size()));
  gzclose(gz);
  std::ofstream(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary) << lab;
}

}  // namespace lowbit::test
