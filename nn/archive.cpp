#include "nn/archive.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>

#include "engine/error.h"

namespace lowbit::nn {

namespace {
constexpr char kMagic[4] = {'L', 'B', 'A', 'R'};
constexpr size_t kHeaderSize = 24;  // magic, major, minor, file size, meta length, tensor count
constexpr size_t kCrcSize = 4;
constexpr uint64_t kAlign = 64;
constexpr uint32_t kMaxNameLen = 4096;
constexpr int kMaxMetaDepth = 128;  // real metadata (config, history) nests about 5 levels deep

uint64_t align_up(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

// ---- little-endian encoding, independent of the host byte order ----
void put_u16(std::vector<uint8_t>& b, uint16_t v) {
  for (int i = 0; i < 2; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_u32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i)));
}
void set_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = uint8_t(v >> (8 * i));
}
uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

void floats_to_le(const float* src, int64_t n, uint8_t* dst) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(dst, src, size_t(n) * 4);
#else
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &src[i], 4);
    for (int k = 0; k < 4; ++k) dst[4 * i + k] = uint8_t(u >> (8 * k));
  }
#endif
}
void floats_from_le(const uint8_t* src, int64_t n, float* dst) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(dst, src, size_t(n) * 4);
#else
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = uint32_t(get_le(src + 4 * i, 4));
    std::memcpy(&dst[i], &u, 4);
  }
#endif
}

uint32_t crc32_of(const uint8_t* p, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths: feed in chunks
    const uInt chunk = n > (1u << 30) ? (1u << 30) : uInt(n);
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return uint32_t(crc);
}

std::string errno_text() { return std::strerror(errno); }

// Bounds-checked reader over the archive bytes.
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t end, const std::string& label) : p_(p), end_(end), label_(label) {}
  uint64_t read(int bytes, const std::string& what) {
    need(size_t(bytes), what);
    const uint64_t v = get_le(p_ + pos_, bytes);
    pos_ += size_t(bytes);
    return v;
  }
  std::string read_string(size_t n, const std::string& what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }
  void seek(size_t pos) { pos_ = pos; }

 private:
  void need(size_t n, const std::string& what) const {
    LOWBIT_CHECK(n <= end_ - pos_, "archive '{}': {} runs past the end of the table (offset {}, {} bytes needed)",
                 label_, what, pos_, n);
  }
  const uint8_t* p_;
  size_t end_;
  size_t pos_ = 0;
  const std::string& label_;
};
}  // namespace

// ---- Archive accessors ----
bool Archive::contains(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.first == name) return true;
  return false;
}

const Tensor& Archive::get(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.first == name) return t.second;
  LOWBIT_CHECK(false, "archive '{}': no tensor named '{}' ({} tensors stored)", label, name, tensors.size());
  return tensors.front().second;
}

std::vector<NamedTensor> Archive::with_prefix(const std::string& prefix) const {
  std::vector<NamedTensor> out;
  for (const auto& t : tensors)
    if (t.first.compare(0, prefix.size(), prefix) == 0) out.emplace_back(t.first.substr(prefix.size()), t.second);
  return out;
}

// ---- encoding ----
std::vector<uint8_t> encode_archive(const nlohmann::json& meta, const std::vector<NamedTensor>& tensors) {
  LOWBIT_CHECK(meta.is_object(), "encode_archive: metadata must be a JSON object, got {}", meta.type_name());
  std::set<std::string> names;
  for (const auto& t : tensors) {
    LOWBIT_CHECK(!t.first.empty() && t.first.size() <= kMaxNameLen,
                 "encode_archive: tensor name must have 1..{} bytes, got {}", kMaxNameLen, t.first.size());
    LOWBIT_CHECK(names.insert(t.first).second, "encode_archive: duplicate tensor name '{}'", t.first);
    LOWBIT_CHECK(t.second.defined(), "encode_archive: tensor '{}' is undefined", t.first);
  }
  const std::string meta_text = meta.dump();
  LOWBIT_CHECK(meta_text.size() < (1ull << 32) && tensors.size() < (1ull << 32),
               "encode_archive: metadata or tensor table too large");

  // Table size first, so payload offsets are known while the table is written.
  uint64_t table_end = kHeaderSize + meta_text.size();
  for (const auto& t : tensors) table_end += 4 + t.first.size() + 4 + 8 * uint64_t(t.second.rank()) + 8;
  std::vector<uint64_t> offsets;
  uint64_t at = align_up(table_end);
  for (const auto& t : tensors) {
    offsets.push_back(at);
    at = align_up(at + 4 * uint64_t(t.second.numel()));
  }
  const uint64_t total = at + kCrcSize;

  std::vector<uint8_t> b;
  b.reserve(size_t(total));
  b.insert(b.end(), kMagic, kMagic + 4);
  put_u16(b, kArchiveMajor);
  put_u16(b, kArchiveMinor);
  put_u64(b, 0);  // file size, patched below
  put_u32(b, uint32_t(meta_text.size()));
  put_u32(b, uint32_t(tensors.size()));
  b.insert(b.end(), meta_text.begin(), meta_text.end());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    put_u32(b, uint32_t(t.first.size()));
    b.insert(b.end(), t.first.begin(), t.first.end());
    put_u32(b, uint32_t(t.second.rank()));
    for (int d = 0; d < t.second.rank(); ++d) put_u64(b, uint64_t(t.second.shape()[d]));
    put_u64(b, offsets[i]);
  }
  LOWBIT_ASSERT(b.size() == table_end, "archive table size {} != planned {}", b.size(), table_end);
  b.resize(size_t(at), 0);  // zero padding and payload space
  for (size_t i = 0; i < tensors.size(); ++i)
    floats_to_le(tensors[i].second.data(), tensors[i].second.numel(), b.data() + offsets[i]);
  set_u64(b, 8, total);
  put_u32(b, crc32_of(b.data(), b.size()));
  return b;
}

Archive decode_archive(const uint8_t* data, size_t size, const std::string& label) {
  LOWBIT_CHECK(size >= 4, "archive '{}': only {} bytes, too small to be a lowbit tensor archive", label, size);
  if (std::memcmp(data, kMagic, 4) != 0) {
    std::string got;
    for (int i = 0; i < 4; ++i) got += std::isprint(data[i]) ? char(data[i]) : '?';
    LOWBIT_CHECK(false, "archive '{}': bad magic '{}' (expected 'LBAR'): not a lowbit tensor archive", label, got);
  }
  LOWBIT_CHECK(size >= kHeaderSize + kCrcSize, "archive '{}': truncated: {} bytes, the header alone needs {}", label,
               size, kHeaderSize + kCrcSize);
  const uint16_t major = uint16_t(get_le(data + 4, 2)), minor = uint16_t(get_le(data + 6, 2));
  LOWBIT_CHECK(major == kArchiveMajor,
               "archive '{}': unknown major version {}.{} (this build reads {}.x); it was written by a different "
               "lowbit release — use that release, or re-save the model with this one",
               label, major, minor, kArchiveMajor);
  const uint64_t declared = get_le(data + 8, 8);
  LOWBIT_CHECK(declared <= size, "archive '{}': truncated: the header says {} bytes, the file has {}", label, declared,
               size);
  LOWBIT_CHECK(declared == size, "archive '{}': {} bytes but the header says {} (trailing data)", label, size,
               declared);
  const size_t body = size - kCrcSize;
  const uint32_t stored = uint32_t(get_le(data + body, 4)), computed = crc32_of(data, body);
  LOWBIT_CHECK(stored == computed, "archive '{}': CRC mismatch (stored {:08x}, computed {:08x}): the file is corrupt",
               label, stored, computed);

  Archive a;
  a.label = label;
  a.crc32 = stored;
  const uint64_t meta_len = get_le(data + 16, 4), count = get_le(data + 20, 4);
  Cursor cur(data, body, label);
  cur.seek(kHeaderSize);
  const std::string meta_text = cur.read_string(size_t(meta_len), "the metadata");
  try {
    // Bounded nesting: a value nested 100k deep parses fine but overflows the stack of any recursive walk
    // (dump, copy, comparison) later on.
    a.meta = nlohmann::json::parse(meta_text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      LOWBIT_CHECK(depth <= kMaxMetaDepth, "archive '{}': metadata is nested deeper than {} levels", label,
                   kMaxMetaDepth);
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    LOWBIT_CHECK(false, "archive '{}': metadata is not valid JSON: {}", label, e.what());
  }
  LOWBIT_CHECK(a.meta.is_object(), "archive '{}': metadata must be a JSON object, got {}", label, a.meta.type_name());

  struct Entry {
    std::string name;
    Shape shape;
    uint64_t offset;
  };
  std::vector<Entry> entries;
  std::set<std::string> names;
  LOWBIT_CHECK(count <= body / 16, "archive '{}': tensor count {} cannot fit in {} bytes", label, count, size);
  for (uint64_t i = 0; i < count; ++i) {
    const std::string what = fmt::format("tensor table entry {}", i);
    const uint64_t name_len = cur.read(4, what);
    LOWBIT_CHECK(name_len >= 1 && name_len <= kMaxNameLen, "archive '{}': {} has a name of {} bytes (allowed 1..{})",
                 label, what, name_len, kMaxNameLen);
    Entry e;
    e.name = cur.read_string(size_t(name_len), what);
    LOWBIT_CHECK(names.insert(e.name).second, "archive '{}': duplicate tensor name '{}'", label, e.name);
    const uint64_t rank = cur.read(4, what);
    LOWBIT_CHECK(rank <= uint64_t(Shape::kMaxRank), "archive '{}': tensor '{}' has rank {} (at most {})", label,
                 e.name, rank, Shape::kMaxRank);
    std::vector<int64_t> dims;
    uint64_t numel = 1;
    for (uint64_t d = 0; d < rank; ++d) {
      const uint64_t v = cur.read(8, what);
      // Every element takes 4 payload bytes, so no valid dimension (or product) exceeds size / 4.
      LOWBIT_CHECK(v <= size / 4 && (v == 0 || numel <= (size / 4) / v),
                   "archive '{}': tensor '{}' dimension {} = {} does not fit in a {}-byte file", label, e.name, d, v,
                   size);
      numel *= v;
      dims.push_back(int64_t(v));
    }
    e.shape = Shape(dims);
    e.offset = cur.read(8, what);
    const uint64_t bytes = numel * 4;
    LOWBIT_CHECK(e.offset % kAlign == 0, "archive '{}': tensor '{}' payload offset {} is not {}-byte aligned", label,
                 e.name, e.offset, kAlign);
    LOWBIT_CHECK(e.offset <= body && bytes <= body - e.offset,
                 "archive '{}': tensor '{}' payload [{}, {}) lies outside the payload area (ends at {})", label,
                 e.name, e.offset, e.offset + bytes, body);
    entries.push_back(std::move(e));
  }
  // Payloads start after the table and do not overlap (they are in table order).
  uint64_t prev_end = cur.pos();
  for (const auto& e : entries) {
    LOWBIT_CHECK(e.offset >= prev_end, "archive '{}': tensor '{}' payload at {} overlaps the table or a previous "
                 "tensor (which end at {})", label, e.name, e.offset, prev_end);
    prev_end = e.offset + 4 * uint64_t(e.shape.numel());
  }
  for (const auto& e : entries) {
    Tensor t = Tensor::empty(e.shape);
    floats_from_le(data + e.offset, t.numel(), t.data());
    a.tensors.emplace_back(e.name, std::move(t));
  }
  return a;
}

// ---- files ----
void write_file_atomic(const std::string& path, const void* data, size_t size) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  LOWBIT_CHECK(!base.empty(), "write '{}': the path names a directory, not a file", path);
  // ".<name>.tmp.<pid>.XXXXXX": the writer's pid lets remove_stale_temp_files tell a dead writer's leftover
  // from a file another process is still writing.
  const std::string tmp_name = "." + base + ".tmp." + std::to_string(::getpid()) + ".XXXXXX";
  const std::string tmp = slash == std::string::npos ? tmp_name : (dir == "/" ? "" : dir) + "/" + tmp_name;
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  const int fd = ::mkstemp(tmpl.data());
  LOWBIT_CHECK(fd >= 0, "write '{}': cannot create a temporary file in '{}': {}", path, dir, errno_text());
  const std::string tmp_path(tmpl.data());
  auto fail = [&](const std::string& what) {
    const std::string err = errno_text();
    ::close(fd);
    ::unlink(tmp_path.c_str());
    LOWBIT_CHECK(false, "write '{}': {}: {}", path, what, err);
  };
  const uint8_t* p = static_cast<const uint8_t*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write failed");
    p += n;
    left -= size_t(n);
  }
  if (::fchmod(fd, 0644) != 0) fail("chmod failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp_path.c_str());
    LOWBIT_CHECK(false, "write '{}': close failed: {}", path, err);
  }
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp_path.c_str());
    LOWBIT_CHECK(false, "write '{}': rename from '{}' failed: {}", path, tmp_path, err);
  }
  // Make the rename itself durable; failure here is not fatal for the file's content.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

namespace {
// The writer pid of a name ".<name>.tmp.<pid>.<6 characters>", or 0 when the name is not of that form.
pid_t temp_file_writer(const std::string& name) {
  if (name.size() < 2 || name[0] != '.') return 0;
  const size_t suffix_dot = name.rfind('.');
  if (suffix_dot == std::string::npos || name.size() - suffix_dot - 1 != 6) return 0;
  const size_t pid_dot = name.rfind('.', suffix_dot - 1);
  if (pid_dot == std::string::npos || pid_dot + 1 == suffix_dot || pid_dot < 5) return 0;
  if (name.compare(pid_dot - 4, 4, ".tmp") != 0 || pid_dot - 4 == 0) return 0;
  const std::string digits = name.substr(pid_dot + 1, suffix_dot - pid_dot - 1);
  if (digits.size() > 9 || digits[0] == '0') return 0;
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
  return static_cast<pid_t>(std::stol(digits));
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }
}  // namespace

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return removed;  // nothing to clean in a directory that does not exist (yet)
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = temp_file_writer(e->d_name);
    if (pid > 0 && !process_alive(pid)) stale.push_back((dir == "/" ? "" : dir) + "/" + e->d_name);
  }
  ::closedir(d);
  for (const std::string& p : stale) {
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::unlink(p.c_str()) == 0) removed.push_back(p);
  }
  return removed;
}

void write_archive(const std::string& path, const nlohmann::json& meta, const std::vector<NamedTensor>& tensors) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_archive(meta, tensors);
  } catch (const Error& e) {
    LOWBIT_CHECK(false, "archive '{}': {}", path, e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size());
}

Archive read_archive(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  LOWBIT_CHECK(in.good(), "archive '{}': cannot open: {}", path, errno_text());
  const std::streamoff size = in.tellg();
  LOWBIT_CHECK(size >= 0, "archive '{}': cannot determine the file size (not a regular file?)", path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  LOWBIT_CHECK(in.gcount() == size, "archive '{}': read {} of {} bytes: {}", path, in.gcount(), size, errno_text());
  return decode_archive(bytes.data(), bytes.size(), path);
}

void save_module(const std::string& path, const Module& module, const nlohmann::json& meta) {
  LOWBIT_CHECK(meta.is_object(), "save_module '{}': metadata must be a JSON object", path);
  nlohmann::json m = meta;
  if (!m.contains("kind")) m["kind"] = "state_dict";
  if (!m.contains("module_type")) m["module_type"] = module.type_name();
  write_archive(path, m, module.state_dict());
}

nlohmann::json load_module(const std::string& path, Module& module, const std::string& expected_model, bool strict) {
  Archive a = read_archive(path);
  if (!expected_model.empty()) {
    LOWBIT_CHECK(a.meta.contains("model") && a.meta["model"].is_string(),
                 "archive '{}': no model name in its metadata, expected '{}'", path, expected_model);
    const std::string got = a.meta["model"].get<std::string>();
    LOWBIT_CHECK(got == expected_model, "archive '{}' holds model '{}', expected '{}'", path, got, expected_model);
  }
  try {
    module.load_state_dict(a.tensors, strict);
  } catch (const Error& e) {
    LOWBIT_CHECK(false, "archive '{}': {}", path, e.what());
  }
  return a.meta;
}

}  // namespace lowbit::nn
