// IDX reader (the MNIST file format): a 4-byte big-endian magic 0x0000TTDD (TT = element type, 0x08 = uint8;
// DD = number of dimensions), DD big-endian uint32 sizes, then the elements row-major.
// Every size is bounded before use: an image side is at most kMaxIdxSide, and the element count (the product
// of the sizes) is computed with overflow checks and must equal the bytes the file holds.
#include <string>

#include "engine/error.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

namespace {
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Checks magic and total size; returns the dimensions.
std::vector<uint32_t> parse_idx_header(const std::vector<uint8_t>& bytes, const std::string& path, int want_dims,
                                       const char* what) {
  LOWBIT_CHECK(bytes.size() >= 4, "IDX {} file '{}' is truncated: {} bytes, no header", what, path, bytes.size());
  const uint32_t magic = be32(bytes.data());
  const uint32_t want = 0x00000800u | static_cast<uint32_t>(want_dims);
  LOWBIT_CHECK(magic == want,
               "IDX {} file '{}' has wrong magic 0x{:08x} (expected 0x{:08x}: uint8 data with {} dimension{})", what,
               path, magic, want, want_dims, want_dims == 1 ? "" : "s");
  const size_t header = 4 + 4 * static_cast<size_t>(want_dims);
  LOWBIT_CHECK(bytes.size() >= header, "IDX {} file '{}' is truncated inside its header ({} bytes)", what, path,
               bytes.size());
  std::vector<uint32_t> dims(want_dims);
  uint64_t total = 1;
  bool overflow = false;
  for (int i = 0; i < want_dims; ++i) {
    dims[i] = be32(bytes.data() + 4 + 4 * i);
    overflow = overflow || __builtin_mul_overflow(total, uint64_t{dims[i]}, &total);
  }
  const uint64_t have = bytes.size() - header;
  LOWBIT_CHECK(!overflow && have >= total,
               "IDX {} file '{}' is truncated: its header promises {} = {} data bytes, the file has {}", what, path,
               fmt::join(dims, "x"), overflow ? std::string("more than 2^64") : std::to_string(total), have);
  LOWBIT_CHECK(have == total, "IDX {} file '{}' has {} unexpected trailing bytes after {} data bytes", what, path,
               have - total, total);
  return dims;
}
}  // namespace

ImageDataset decode_idx(const std::vector<uint8_t>& img, const std::string& images_path,
                        const std::vector<uint8_t>& lab, const std::string& labels_path, const std::string& name,
                        int num_classes) {
  LOWBIT_CHECK(num_classes > 0 && num_classes <= 256, "IDX data set '{}': {} classes (expected 1..256)", name,
               num_classes);
  const std::vector<uint32_t> idim = parse_idx_header(img, images_path, 3, "images");
  const std::vector<uint32_t> ldim = parse_idx_header(lab, labels_path, 1, "labels");
  LOWBIT_CHECK(idim[1] > 0 && idim[2] > 0 && idim[1] <= kMaxIdxSide && idim[2] <= kMaxIdxSide,
               "IDX images file '{}' has images of {}x{} pixels (each side must be 1..{})", images_path, idim[1],
               idim[2], kMaxIdxSide);
  LOWBIT_CHECK(idim[0] == ldim[0], "IDX count mismatch: '{}' has {} images but '{}' has {} labels", images_path,
               idim[0], labels_path, ldim[0]);

  ImageDataset ds;
  ds.name = name;
  ds.n = idim[0];
  ds.c = 1;
  ds.h = static_cast<int>(idim[1]);
  ds.w = static_cast<int>(idim[2]);
  ds.num_classes = num_classes;
  ds.pixels.assign(img.begin() + 16, img.end());
  ds.labels.resize(ds.n);
  for (int64_t i = 0; i < ds.n; ++i) {
    const int v = lab[8 + i];
    LOWBIT_CHECK(v < num_classes, "IDX labels file '{}': label {} at index {} is not in [0, {})", labels_path, v, i,
                 num_classes);
    ds.labels[i] = v;
  }
  ds.compute_checksum();
  return ds;
}

ImageDataset read_idx(const std::string& images_path, const std::string& labels_path, const std::string& name,
                      int num_classes) {
  const std::vector<uint8_t> img = read_file_maybe_gzip(images_path);
  const std::vector<uint8_t> lab = read_file_maybe_gzip(labels_path);
  return decode_idx(img, images_path, lab, labels_path, name, num_classes);
}

}  // namespace lowbit::nn
