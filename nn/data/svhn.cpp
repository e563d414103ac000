// SVHN format 2 through libmatio (MAT-files v4, v5/v6/v7 with or without compression, and v7.3 = HDF5).
// X is [32, 32, 3, N] column-major, so pixel (row r, column x, channel ch, image i) is X[r + 32·x + 1024·ch +
// 3072·i]; we transpose into NCHW. y is [N, 1] (or [1, N]) with labels 1..10, 10 meaning digit 0.
// Shapes are checked from the variables' headers before any data is read, and N is bounded by what a file of
// this size can hold (deflate expands at most ~1032:1), so a crafted header cannot make us allocate terabytes.
#include <matio.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>

#include "engine/error.h"
#include "nn/data/dataset.h"

namespace lowbit::nn {

namespace {
// libmatio reports problems through a log callback (by default on stderr). We keep the last message of this
// thread and put it into our own error instead.
thread_local std::string matio_last_message;
void matio_log(int /*level*/, char* message) { matio_last_message = message ? message : ""; }
void install_matio_log() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("lowbit", matio_log); });
}
std::string matio_reason() {
  return matio_last_message.empty() ? std::string() : " (libmatio: " + matio_last_message + ")";
}

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

constexpr uint64_t kMaxDeflateRatio = 1032;

std::string dims_text(const matvar_t* v) {
  std::string s;
  for (int i = 0; i < v->rank; ++i) s += (i ? "x" : "") + std::to_string(v->dims[i]);
  return s.empty() ? "(none)" : s;
}

bool numeric_class(matio_classes c) { return c >= MAT_C_DOUBLE && c <= MAT_C_UINT64; }

size_t type_size(matio_types t) {
  switch (t) {
    case MAT_T_INT8: case MAT_T_UINT8: return 1;
    case MAT_T_INT16: case MAT_T_UINT16: return 2;
    case MAT_T_INT32: case MAT_T_UINT32: case MAT_T_SINGLE: return 4;
    case MAT_T_DOUBLE: case MAT_T_INT64: case MAT_T_UINT64: return 8;
    default: return 0;
  }
}

// Element i of a numeric variable's data as a double.
double element(const matvar_t* v, size_t i) {
  const uint8_t* q = static_cast<const uint8_t*>(v->data) + i * type_size(v->data_type);
  switch (v->data_type) {
    case MAT_T_INT8: return static_cast<int8_t>(q[0]);
    case MAT_T_UINT8: return q[0];
    case MAT_T_INT16: { int16_t x; std::memcpy(&x, q, 2); return x; }
    case MAT_T_UINT16: { uint16_t x; std::memcpy(&x, q, 2); return x; }
    case MAT_T_INT32: { int32_t x; std::memcpy(&x, q, 4); return x; }
    case MAT_T_UINT32: { uint32_t x; std::memcpy(&x, q, 4); return x; }
    case MAT_T_SINGLE: { float x; std::memcpy(&x, q, 4); return x; }
    case MAT_T_DOUBLE: { double x; std::memcpy(&x, q, 8); return x; }
    case MAT_T_INT64: { int64_t x; std::memcpy(&x, q, 8); return static_cast<double>(x); }
    case MAT_T_UINT64: { uint64_t x; std::memcpy(&x, q, 8); return static_cast<double>(x); }
    default: return std::nan("");
  }
}

// The header of a variable (no data read yet), or an error naming what is missing.
MatVar variable_info(mat_t* mat, const char* name, const std::string& path) {
  matio_last_message.clear();
  MatVar v(Mat_VarReadInfo(mat, name));
  LOWBIT_CHECK(v != nullptr || !matio_last_message.empty(),
               "SVHN file '{}' lacks the '{}' variable (is it the 32x32 'format 2' file?)", path, name);
  LOWBIT_CHECK(v != nullptr, "SVHN file '{}': cannot find the '{}' variable, the file is truncated or corrupt{}", path,
               name, matio_reason());
  LOWBIT_CHECK(numeric_class(v->class_type) && !v->isComplex && v->rank >= 0 && (v->rank == 0 || v->dims),
               "SVHN file '{}': '{}' is not a real numeric array", path, name);
  return v;
}

// Reads a variable's data and checks it is real numeric data of exactly `numel` elements.
MatVar read_numeric(mat_t* mat, const char* name, size_t numel, const std::string& path) {
  matio_last_message.clear();
  MatVar v(Mat_VarRead(mat, name));
  LOWBIT_CHECK(v != nullptr && v->data != nullptr, "SVHN file '{}': cannot read the data of '{}'{}", path, name,
               matio_reason());
  const size_t es = type_size(v->data_type);
  LOWBIT_CHECK(numeric_class(v->class_type) && !v->isComplex && es != 0 && v->data_size == static_cast<int>(es) &&
                   v->rank >= 0 && (v->rank == 0 || v->dims),
               "SVHN file '{}': '{}' is not a real numeric array", path, name);
  size_t count = 1;
  bool overflow = false;
  for (int i = 0; i < v->rank; ++i) overflow = overflow || __builtin_mul_overflow(count, v->dims[i], &count);
  LOWBIT_CHECK(!overflow && count == numel && v->nbytes == numel * es,
               "SVHN file '{}': '{}' holds {} bytes as {}, expected {} elements of {} bytes", path, name, v->nbytes,
               dims_text(v.get()), numel, es);
  return v;
}
}  // namespace

ImageDataset read_svhn_mat(const std::string& path, const std::string& name) {
  install_matio_log();
  struct stat st;
  LOWBIT_CHECK(::stat(path.c_str(), &st) == 0, "cannot open '{}': {}", path, std::strerror(errno));
  LOWBIT_CHECK(S_ISREG(st.st_mode), "SVHN file '{}' is not a regular file", path);
  // SVHN ships level-5 files; MATLAB writes v7.3 for large arrays. Anything else is refused before libmatio
  // sees it: its headerless v4 fallback spent 1.9 GB and 2 s on a crafted 190-byte file.
  unsigned char h[128] = {};
  size_t got = 0;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    got = std::fread(h, 1, sizeof h, f);
    std::fclose(f);
  } else {
    LOWBIT_CHECK(false, "cannot open '{}': {}", path, std::strerror(errno));
  }
  const bool le = h[126] == 'I' && h[127] == 'M', be = h[126] == 'M' && h[127] == 'I';
  const unsigned version = le ? (h[125] << 8 | h[124]) : (h[124] << 8 | h[125]);
  LOWBIT_CHECK(got == sizeof h && (le || be) && (version == 0x0100 || version == 0x0200),
               "'{}' is not a MAT-file of level 5 (v6/v7) or v7.3: no 128-byte header with version 0x0100 or "
               "0x0200 and an 'IM' endian mark",
               path);
  matio_last_message.clear();
  const MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  LOWBIT_CHECK(mat != nullptr, "'{}' is not a MAT-file libmatio can read (v4, v5/v7 or v7.3){}", path,
               matio_reason());

  const MatVar xi = variable_info(mat.get(), "X", path);
  LOWBIT_CHECK(xi->rank == 4 && xi->dims[0] == 32 && xi->dims[1] == 32 && xi->dims[2] == 3,
               "SVHN file '{}': X has dimensions {} (expected 32x32x3xN)", path, dims_text(xi.get()));
  const uint64_t n = xi->dims[3];
  const uint64_t most = std::min<uint64_t>(uint64_t(kMaxImages), (uint64_t(st.st_size) + 64) * kMaxDeflateRatio / 3072);
  LOWBIT_CHECK(n <= most, "SVHN file '{}': X claims {} images, more than a {}-byte file can hold", path, n,
               st.st_size);
  const MatVar yi = variable_info(mat.get(), "y", path);
  LOWBIT_CHECK(yi->rank == 2 && ((yi->dims[0] == n && yi->dims[1] == 1) || (yi->dims[0] == 1 && yi->dims[1] == n)),
               "SVHN file '{}': y has dimensions {} but X holds {} images", path, dims_text(yi.get()), n);

  const MatVar x = read_numeric(mat.get(), "X", n * 3072, path);
  const MatVar y = read_numeric(mat.get(), "y", n, path);

  ImageDataset ds;
  ds.name = name;
  ds.n = static_cast<int64_t>(n);
  ds.c = 3;
  ds.h = 32;
  ds.w = 32;
  ds.num_classes = 10;
  ds.pixels.resize(n * 3072);
  const bool u8 = x->data_type == MAT_T_UINT8;
  const uint8_t* xb = static_cast<const uint8_t*>(x->data);
  for (uint64_t i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int col = 0; col < 32; ++col)
        for (int r = 0; r < 32; ++r) {
          const uint64_t src = r + 32 * col + 1024 * ch + 3072 * i;
          uint8_t v;
          if (u8) {
            v = xb[src];
          } else {
            const double d = element(x.get(), src);
            LOWBIT_CHECK(d >= 0 && d <= 255 && d == std::floor(d), "SVHN file '{}': pixel value {} is not a byte",
                         path, d);
            v = static_cast<uint8_t>(d);
          }
          ds.pixels[((i * 3 + ch) * 32 + r) * 32 + col] = v;
        }
  ds.labels.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    const double v = element(y.get(), i);
    LOWBIT_CHECK(v >= 1 && v <= 10 && v == std::floor(v), "SVHN file '{}': label {} of image {} is not in 1..10",
                 path, v, i);
    ds.labels[i] = v == 10 ? 0 : static_cast<int32_t>(v);
  }
  ds.compute_checksum();
  return ds;
}

}  // namespace lowbit::nn
