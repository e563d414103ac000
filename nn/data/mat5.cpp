#include "nn/data/mat5.h"

#include <zlib.h>

#include <cstring>

#include "engine/error.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

namespace {
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

size_t element_size(uint32_t type) {
  switch (type) {
    case miINT8: case miUINT8: case miUTF8: return 1;
    case miINT16: case miUINT16: return 2;
    case miINT32: case miUINT32: case miSINGLE: return 4;
    case miDOUBLE: case miINT64: case miUINT64: return 8;
    default: return 0;
  }
}

// One data element: its type, payload and the offset just past it (padding included).
struct Element {
  uint32_t type;
  const uint8_t* data;
  size_t bytes;
  size_t next;
};

Element read_element(const uint8_t* p, size_t n, size_t off, const std::string& path) {
  LOWBIT_CHECK(off + 8 <= n, "MAT-file '{}' is truncated: a data element tag at byte {} runs past the end ({} bytes)",
               path, off, n);
  const uint32_t w0 = le32(p + off);
  if ((w0 >> 16) != 0) {  // small data element: {u16 type, u16 bytes} then up to 4 data bytes in the tag
    const uint32_t bytes = w0 >> 16;
    LOWBIT_CHECK(bytes <= 4, "MAT-file '{}': small data element at byte {} claims {} bytes (max 4)", path, off, bytes);
    return {w0 & 0xffff, p + off + 4, bytes, off + 8};
  }
  const uint64_t bytes = le32(p + off + 4);
  LOWBIT_CHECK(off + 8 + bytes <= n,
               "MAT-file '{}' is truncated: data element (type {}) at byte {} needs {} bytes, {} remain", path, w0, off,
               bytes, n - off - 8);
  size_t next = off + 8 + static_cast<size_t>(bytes);
  // Everything but compressed elements is padded to a multiple of 8 bytes.
  if (w0 != miCOMPRESSED) next = std::min(n, (next + 7) & ~size_t{7});
  return {w0, p + off + 8, static_cast<size_t>(bytes), next};
}

std::vector<uint8_t> inflate_all(const uint8_t* src, size_t n, const std::string& path) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  LOWBIT_CHECK(inflateInit(&zs) == Z_OK, "MAT-file '{}': zlib inflateInit failed", path);
  std::vector<uint8_t> out(std::max<size_t>(n * 4, 1 << 16));
  zs.next_in = const_cast<Bytef*>(src);
  size_t in_left = n;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    const size_t in_chunk = std::min<size_t>(in_left, 1u << 30);
    zs.avail_in = static_cast<uInt>(in_chunk);
    const size_t out_room = std::min<size_t>(out.size() - zs.total_out, 1u << 30);
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(out_room);
    rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    if (rc == Z_BUF_ERROR && in_left == 0 && zs.avail_out != 0) break;  // input ended mid-stream
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  const size_t produced = zs.total_out;
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  LOWBIT_CHECK(rc == Z_STREAM_END, "MAT-file '{}': compressed element is corrupt or truncated (zlib: {})", path,
               msg.empty() ? (rc == Z_BUF_ERROR ? std::string("unexpected end of stream") : std::to_string(rc)) : msg);
  out.resize(produced);
  return out;
}
}  // namespace

int64_t Mat5Array::numel() const {
  int64_t k = 1;
  for (int64_t d : dims) k *= d;
  return k;
}

double Mat5Array::at(int64_t i) const {
  const uint8_t* q = data + i * element_size(data_type);
  switch (data_type) {
    case miINT8: return static_cast<int8_t>(q[0]);
    case miUINT8: return q[0];
    case miINT16: { int16_t v; std::memcpy(&v, q, 2); return v; }
    case miUINT16: { uint16_t v; std::memcpy(&v, q, 2); return v; }
    case miINT32: { int32_t v; std::memcpy(&v, q, 4); return v; }
    case miUINT32: { uint32_t v; std::memcpy(&v, q, 4); return v; }
    case miSINGLE: { float v; std::memcpy(&v, q, 4); return v; }
    case miDOUBLE: { double v; std::memcpy(&v, q, 8); return v; }
    case miINT64: { int64_t v; std::memcpy(&v, q, 8); return static_cast<double>(v); }
    case miUINT64: { uint64_t v; std::memcpy(&v, q, 8); return static_cast<double>(v); }
    default: return 0.0;
  }
}

Mat5File::Mat5File(const std::string& path) : path_(path) {
  buffers_.push_back(std::make_unique<std::vector<uint8_t>>(read_file_maybe_gzip(path)));
  const std::vector<uint8_t>& b = *buffers_.back();
  LOWBIT_CHECK(b.size() >= 128, "MAT-file '{}' is truncated: {} bytes, shorter than the 128-byte header", path,
               b.size());
  LOWBIT_CHECK(!(b[126] == 'M' && b[127] == 'I'),
               "MAT-file '{}' is big-endian; only little-endian MAT-files are supported", path);
  LOWBIT_CHECK(b[126] == 'I' && b[127] == 'M',
               "'{}' is not a MATLAB level-5 MAT-file (no 'IM' endian marker at byte 126; a v7.3 HDF5 file?)", path);
  LOWBIT_CHECK(b[124] == 0x00 && b[125] == 0x01, "MAT-file '{}': unsupported version 0x{:02x}{:02x} (expected 0x0100)",
               path, b[125], b[124]);
  parse_elements(b.data() + 128, b.size() - 128, true);
}

void Mat5File::parse_elements(const uint8_t* p, size_t n, bool top_level) {
  size_t off = 0;
  while (off < n) {
    const Element e = read_element(p, n, off, path_);
    if (e.type == miCOMPRESSED) {
      LOWBIT_CHECK(top_level, "MAT-file '{}': nested compressed element", path_);
      buffers_.push_back(std::make_unique<std::vector<uint8_t>>(inflate_all(e.data, e.bytes, path_)));
      const std::vector<uint8_t>& inner = *buffers_.back();
      parse_elements(inner.data(), inner.size(), false);
    } else if (e.type == miMATRIX) {
      parse_matrix(e.data, e.bytes);
    }  // other top-level elements carry nothing we read
    off = e.next;
  }
}

void Mat5File::parse_matrix(const uint8_t* p, size_t n) {
  if (n == 0) return;  // an empty array
  Mat5Array a;
  const Element flags = read_element(p, n, 0, path_);
  LOWBIT_CHECK(flags.type == miUINT32 && flags.bytes == 8, "MAT-file '{}': matrix without an array-flags sub-element",
               path_);
  const uint32_t f = le32(flags.data);
  a.mx_class = static_cast<uint8_t>(f & 0xff);
  a.complex = (f & 0x0800) != 0;
  if (a.mx_class < mxDOUBLE_CLASS || a.mx_class > 15) return;  // cell, struct, char, sparse...: not numeric

  const Element dims = read_element(p, n, flags.next, path_);
  LOWBIT_CHECK(dims.type == miINT32 && dims.bytes % 4 == 0 && dims.bytes >= 8,
               "MAT-file '{}': matrix with a malformed dimensions sub-element", path_);
  for (size_t i = 0; i < dims.bytes / 4; ++i) {
    const int32_t d = static_cast<int32_t>(le32(dims.data + 4 * i));
    LOWBIT_CHECK(d >= 0, "MAT-file '{}': negative dimension {}", path_, d);
    a.dims.push_back(d);
  }
  const Element name = read_element(p, n, dims.next, path_);
  LOWBIT_CHECK(name.type == miINT8 || name.type == miUTF8, "MAT-file '{}': matrix without a name sub-element", path_);
  a.name.assign(reinterpret_cast<const char*>(name.data), name.bytes);

  const Element real = read_element(p, n, name.next, path_);
  const size_t es = element_size(real.type);
  LOWBIT_CHECK(es != 0, "MAT-file '{}': array '{}' has real part of unsupported type {}", path_, a.name, real.type);
  LOWBIT_CHECK(real.bytes == static_cast<size_t>(a.numel()) * es,
               "MAT-file '{}': array '{}' has {} data bytes, its dimensions need {}", path_, a.name, real.bytes,
               static_cast<size_t>(a.numel()) * es);
  a.data_type = real.type;
  a.data = real.data;
  a.bytes = real.bytes;
  arrays_.push_back(std::move(a));
}

const Mat5Array* Mat5File::find(const std::string& name) const {
  for (const Mat5Array& a : arrays_)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace lowbit::nn
