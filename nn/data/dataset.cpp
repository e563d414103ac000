#include "nn/data/dataset.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/error.h"

namespace lowbit::nn {

void ImageDataset::compute_checksum() {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib's crc32 takes a uInt length: feed large buffers in chunks.
  const size_t chunk = size_t{1} << 30;
  for (size_t off = 0; off < pixels.size(); off += chunk) {
    const size_t len = std::min(chunk, pixels.size() - off);
    crc = crc32(crc, pixels.data() + off, static_cast<uInt>(len));
  }
  for (int32_t l : labels) {
    const uint32_t u = static_cast<uint32_t>(l);
    const unsigned char b[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                                static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
    crc = crc32(crc, b, 4);
  }
  checksum = static_cast<uint32_t>(crc);
}

void ImageDataset::validate() const {
  LOWBIT_CHECK(n >= 0 && c > 0 && h > 0 && w > 0, "data set '{}': bad shape n={} c={} h={} w={}", name, n, c, h, w);
  LOWBIT_CHECK(static_cast<int64_t>(pixels.size()) == n * image_size(),
               "data set '{}': {} pixel bytes, expected {} ({} images of {}x{}x{})", name, pixels.size(),
               n * image_size(), n, c, h, w);
  LOWBIT_CHECK(static_cast<int64_t>(labels.size()) == n, "data set '{}': {} labels for {} images", name,
               labels.size(), n);
  for (int64_t i = 0; i < n; ++i)
    LOWBIT_CHECK(labels[i] >= 0 && labels[i] < num_classes, "data set '{}': label {} of image {} is outside [0, {})",
                 name, labels[i], i, num_classes);
}

ImageDataset ImageDataset::slice(int64_t begin, int64_t end, const std::string& new_name) const {
  LOWBIT_CHECK(0 <= begin && begin <= end && end <= n, "data set '{}': slice [{}, {}) outside [0, {})", name, begin,
               end, n);
  ImageDataset out;
  out.name = new_name;
  out.n = end - begin;
  out.c = c;
  out.h = h;
  out.w = w;
  out.num_classes = num_classes;
  out.pixels.assign(pixels.begin() + begin * image_size(), pixels.begin() + end * image_size());
  out.labels.assign(labels.begin() + begin, labels.begin() + end);
  out.compute_checksum();
  return out;
}

std::pair<ImageDataset, ImageDataset> split_holdout(const ImageDataset& train, int64_t holdout) {
  LOWBIT_CHECK(holdout > 0 && holdout < train.n, "validation holdout of {} images needs 0 < holdout < {} ('{}')",
               holdout, train.n, train.name);
  const int64_t cut = train.n - holdout;
  return {train.slice(0, cut, train.name + "/fit"), train.slice(cut, train.n, train.name + "/holdout")};
}

namespace {
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

std::vector<uint8_t> read_raw(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  LOWBIT_CHECK(f, "cannot open '{}': {}", path, std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f.get())) > 0) out.insert(out.end(), buf, buf + got);
  LOWBIT_CHECK(!std::ferror(f.get()), "read error on '{}': {}", path, std::strerror(errno));
  return out;
}

std::vector<uint8_t> read_gzip(const std::string& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  LOWBIT_CHECK(gz != nullptr, "cannot open '{}': {}", path, std::strerror(errno));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    const int got = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    if (got < 0) {
      int errnum = 0;
      std::string msg = gzerror(gz, &errnum);
      gzclose(gz);
      lowbit::detail::throw_error(fmt::format("corrupt gzip file '{}': {}", path, msg));
    }
    if (got == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + got);
  }
  // A stream cut short reads as a clean end of input; zlib reports it as Z_BUF_ERROR here and from gzclose.
  int errnum = 0;
  const char* msg = gzerror(gz, &errnum);
  std::string err = (errnum != Z_OK && errnum != Z_STREAM_END) ? std::string(msg) : std::string();
  const int rc = gzclose(gz);
  if (err.empty() && rc != Z_OK) err = rc == Z_BUF_ERROR ? "unexpected end of file" : "gzclose failed";
  LOWBIT_CHECK(err.empty(), "corrupt or truncated gzip file '{}': {}", path, err);
  return out;
}
}  // namespace

std::vector<uint8_t> read_file_maybe_gzip(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  LOWBIT_CHECK(f, "cannot open '{}': {}", path, std::strerror(errno));
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, f.get());
  f.reset();
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return read_gzip(path);
  return read_raw(path);
}

}  // namespace lowbit::nn
