// SVHN format 2: X is uint8 [32, 32, 3, N] column-major, so pixel (row r, column x, channel ch, image i) is
// X[r + 32·x + 1024·ch + 3072·i]; we transpose into NCHW. y is [N, 1] with labels 1..10, 10 meaning digit 0.
#include <cmath>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "nn/data/mat5.h"

namespace lowbit::nn {

ImageDataset read_svhn_mat(const std::string& path, const std::string& name) {
  const Mat5File mat(path);
  const Mat5Array* x = mat.find("X");
  const Mat5Array* y = mat.find("y");
  LOWBIT_CHECK(x && y, "SVHN file '{}' lacks the {} variable (is it the 32x32 'format 2' file?)", path,
               !x ? "'X'" : "'y'");
  LOWBIT_CHECK(x->dims.size() == 4 && x->dims[0] == 32 && x->dims[1] == 32 && x->dims[2] == 3,
               "SVHN file '{}': X has dimensions {} (expected 32x32x3xN)", path, fmt::join(x->dims, "x"));
  LOWBIT_CHECK(!x->complex && !y->complex, "SVHN file '{}': complex arrays", path);
  const int64_t n = x->dims[3];
  LOWBIT_CHECK(y->numel() == n && y->dims.size() == 2 && (y->dims[0] == 1 || y->dims[1] == 1),
               "SVHN file '{}': y has dimensions {} but X holds {} images", path, fmt::join(y->dims, "x"), n);

  ImageDataset ds;
  ds.name = name;
  ds.n = n;
  ds.c = 3;
  ds.h = 32;
  ds.w = 32;
  ds.num_classes = 10;
  ds.pixels.resize(static_cast<size_t>(n) * 3072);
  const bool u8 = x->data_type == miUINT8;
  for (int64_t i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int col = 0; col < 32; ++col)
        for (int r = 0; r < 32; ++r) {
          const int64_t src = r + 32 * col + 1024 * ch + 3072 * i;
          uint8_t v;
          if (u8) {
            v = x->data[src];
          } else {
            const double d = x->at(src);
            LOWBIT_CHECK(d >= 0 && d <= 255 && d == std::floor(d), "SVHN file '{}': pixel value {} is not a byte",
                         path, d);
            v = static_cast<uint8_t>(d);
          }
          ds.pixels[((i * 3 + ch) * 32 + r) * 32 + col] = v;
        }
  ds.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const double v = y->at(i);
    LOWBIT_CHECK(v >= 1 && v <= 10 && v == std::floor(v), "SVHN file '{}': label {} of image {} is not in 1..10",
                 path, v, i);
    ds.labels[i] = v == 10 ? 0 : static_cast<int32_t>(v);
  }
  ds.compute_checksum();
  return ds;
}

}  // namespace lowbit::nn
