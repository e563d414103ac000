// Dataset readers: small files written in the official formats (IDX raw and gzip, CIFAR-10 binary, SVHN
// MAT-files written with libmatio: v5 with and without compression, v7.3) round-trip; corrupt ones give errors
// naming the file and problem.
#include <doctest/doctest.h>
#include <matio.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "nn/data/registry.h"

namespace fs = std::filesystem;
using namespace lowbit;
using namespace lowbit::nn;

namespace {
using Bytes = std::vector<uint8_t>;

fs::path temp_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_datasets_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void write_file(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
void write_gzip(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  gzFile gz = gzopen(p.string().c_str(), "wb");
  REQUIRE(gz != nullptr);
  REQUIRE(gzwrite(gz, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(gz);
}
void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
uint8_t pixel(int64_t i, int64_t k) { return static_cast<uint8_t>((i * 31 + k * 7) & 0xff); }

Bytes idx_images(int n, int h, int w) {
  Bytes b;
  put_be32(b, 0x803);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < h * w; ++k) b.push_back(pixel(i, k));
  return b;
}
Bytes idx_labels(int n) {
  Bytes b;
  put_be32(b, 0x801);
  put_be32(b, n);
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(i % 10));
  return b;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- SVHN-shaped MAT-files written with libmatio itself ----
// X uint8 [32, 32, 3, n] column-major; the label of image i is (i % 10) + 1 (10 = digit 0), y [n, 1] stored as
// double (or uint8). ver: MAT_FT_MAT5 or MAT_FT_MAT73.
void write_svhn(const fs::path& p, int n, mat_ft ver, matio_compression z, bool y_as_uint8 = false,
                size_t x_channels = 3, size_t y_rows = 0) {
  fs::create_directories(p.parent_path());
  Bytes x(static_cast<size_t>(n) * 1024 * x_channels);
  for (int i = 0; i < n; ++i)
    for (size_t ch = 0; ch < x_channels; ++ch)
      for (int col = 0; col < 32; ++col)
        for (int r = 0; r < 32; ++r)  // column-major: r fastest
          x[r + 32 * col + 1024 * ch + 1024 * x_channels * i] = pixel(i, (ch * 32 + r) * 32 + col);
  const size_t ny = y_rows ? y_rows : static_cast<size_t>(n);
  std::vector<double> yd(ny);
  Bytes yb(ny);
  for (size_t i = 0; i < ny; ++i) {
    yd[i] = static_cast<double>(i % 10 + 1);
    yb[i] = static_cast<uint8_t>(i % 10 + 1);
  }
  mat_t* mat = Mat_CreateVer(p.string().c_str(), nullptr, ver);
  REQUIRE(mat != nullptr);
  size_t xdims[4] = {32, 32, x_channels, static_cast<size_t>(n)};
  size_t ydims[2] = {ny, 1};
  matvar_t* vx = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, xdims, x.data(), 0);
  matvar_t* vy = y_as_uint8 ? Mat_VarCreate("y", MAT_C_UINT8, MAT_T_UINT8, 2, ydims, yb.data(), 0)
                            : Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, ydims, yd.data(), 0);
  REQUIRE(vx != nullptr);
  REQUIRE(vy != nullptr);
  CHECK(Mat_VarWrite(mat, vx, z) == 0);
  CHECK(Mat_VarWrite(mat, vy, z) == 0);
  Mat_VarFree(vx);
  Mat_VarFree(vy);
  Mat_Close(mat);
}
Bytes read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
bool matio_has_v73() {
  const fs::path p = fs::temp_directory_path() / ("lowbit_test_v73_probe_" + std::to_string(::getpid()) + ".mat");
  mat_t* m = Mat_CreateVer(p.string().c_str(), nullptr, MAT_FT_MAT73);
  if (m) Mat_Close(m);
  fs::remove(p);
  return m != nullptr;
}
}  // namespace

TEST_CASE("IDX: raw and gzip files round-trip with the same checksum") {
  const fs::path d = temp_dir("idx");
  write_file(d / "raw" / "img", idx_images(12, 5, 4));
  write_file(d / "raw" / "lab", idx_labels(12));
  write_gzip(d / "gz" / "img.gz", idx_images(12, 5, 4));
  write_gzip(d / "gz" / "lab.gz", idx_labels(12));
  const ImageDataset a = read_idx((d / "raw" / "img").string(), (d / "raw" / "lab").string(), "t");
  const ImageDataset b = read_idx((d / "gz" / "img.gz").string(), (d / "gz" / "lab.gz").string(), "t");
  CHECK(a.n == 12);
  CHECK(a.c == 1);
  CHECK(a.h == 5);
  CHECK(a.w == 4);
  CHECK(a.image(7)[3] == pixel(7, 3));
  CHECK(a.labels[11] == 1);
  CHECK(a.pixels == b.pixels);
  CHECK(a.labels == b.labels);
  CHECK(a.checksum == b.checksum);
  CHECK(a.checksum != 0);
  a.validate();
  fs::remove_all(d);
}

TEST_CASE("IDX: corrupt files give errors naming the file") {
  const fs::path d = temp_dir("idxbad");
  const std::string img = (d / "img").string(), lab = (d / "lab").string();
  write_file(d / "lab", idx_labels(12));

  Bytes truncated = idx_images(12, 5, 4);
  truncated.resize(truncated.size() - 7);
  write_file(d / "img", truncated);
  std::string e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, img));
  CHECK(contains(e, "truncated"));

  Bytes bad_magic = idx_images(12, 5, 4);
  bad_magic[3] = 0x01;
  write_file(d / "img", bad_magic);
  e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, img));
  CHECK(contains(e, "wrong magic"));

  write_file(d / "img", idx_images(11, 5, 4));
  e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, "11 images"));
  CHECK(contains(e, "12 labels"));

  Bytes bad_label = idx_labels(12);
  bad_label[8 + 5] = 10;
  write_file(d / "img", idx_images(12, 5, 4));
  write_file(d / "lab", bad_label);
  e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, lab));
  CHECK(contains(e, "label 10"));

  // A gzip stream cut in half.
  write_gzip(d / "img.gz", idx_images(200, 28, 28));
  std::ifstream in(d / "img.gz", std::ios::binary);
  Bytes gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gz.resize(gz.size() / 2);
  write_file(d / "img.gz", gz);
  e = error_of([&] { read_idx((d / "img.gz").string(), lab, "t"); });
  CHECK(contains(e, (d / "img.gz").string()));
  CHECK(contains(e, "gzip"));
  fs::remove_all(d);
}

TEST_CASE("IDX: header sizes whose product wraps or exceeds the bounds are errors naming the file") {
  const fs::path d = temp_dir("idxwrap");
  const std::string img = (d / "img").string(), lab = (d / "lab").string();
  write_file(d / "lab", idx_labels(4));
  // n = 4, rows = cols = 2^31: 4 * 2^31 * 2^31 = 2^64 wraps to 0, which matched the empty data of a 16-byte file.
  Bytes wrap;
  put_be32(wrap, 0x803);
  put_be32(wrap, 4);
  put_be32(wrap, 0x80000000u);
  put_be32(wrap, 0x80000000u);
  write_file(d / "img", wrap);
  std::string e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, img));
  CHECK(contains(e, "more than 2^64"));

  // rows = 2^16, cols = 1, n = 4: the data is all there but an image side above the bound is refused.
  Bytes tall;
  put_be32(tall, 0x803);
  put_be32(tall, 4);
  put_be32(tall, 1u << 16);
  put_be32(tall, 1);
  tall.resize(tall.size() + 4 * (size_t{1} << 16), 7);
  write_file(d / "img", tall);
  e = error_of([&] { read_idx(img, lab, "t"); });
  CHECK(contains(e, img));
  CHECK(contains(e, "65536x1 pixels"));

  // Zero images and zero labels is a valid (empty) pair.
  write_file(d / "img", idx_images(0, 3, 3));
  write_file(d / "lab", idx_labels(0));
  CHECK(read_idx(img, lab, "t").n == 0);
  fs::remove_all(d);
}

TEST_CASE("CIFAR-10 binary: records concatenate over files, bad sizes and labels are errors") {
  const fs::path d = temp_dir("cifar");
  auto batch = [](int n, int first) {
    Bytes b;
    for (int i = first; i < first + n; ++i) {
      b.push_back(static_cast<uint8_t>(i % 10));
      for (int k = 0; k < 3072; ++k) b.push_back(pixel(i, k));
    }
    return b;
  };
  write_file(d / "a.bin", batch(3, 0));
  write_file(d / "b.bin", batch(2, 3));
  const ImageDataset ds = read_cifar10_bin({(d / "a.bin").string(), (d / "b.bin").string()}, "c");
  CHECK(ds.n == 5);
  CHECK(ds.c == 3);
  CHECK(ds.h == 32);
  CHECK(ds.labels == std::vector<int32_t>{0, 1, 2, 3, 4});
  CHECK(ds.image(4)[2048 + 5] == pixel(4, 2048 + 5));  // blue plane, row 0, column 5
  ds.validate();

  Bytes cut = batch(2, 0);
  cut.pop_back();
  write_file(d / "cut.bin", cut);
  std::string e = error_of([&] { read_cifar10_bin({(d / "cut.bin").string()}, "c"); });
  CHECK(contains(e, (d / "cut.bin").string()));
  CHECK(contains(e, "3073-byte records"));

  Bytes bad = batch(2, 0);
  bad[3073] = 57;
  write_file(d / "bad.bin", bad);
  e = error_of([&] { read_cifar10_bin({(d / "bad.bin").string()}, "c"); });
  CHECK(contains(e, "label 57"));
  fs::remove_all(d);
}

TEST_CASE("SVHN .mat: v5 uncompressed, v5 compressed and v7.3 files decode to the same NCHW images") {
  const fs::path d = temp_dir("svhn");
  write_svhn(d / "plain.mat", 7, MAT_FT_MAT5, MAT_COMPRESSION_NONE);
  write_svhn(d / "zip.mat", 7, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, /*y_as_uint8=*/true);
  const ImageDataset a = read_svhn_mat((d / "plain.mat").string(), "s");
  const ImageDataset b = read_svhn_mat((d / "zip.mat").string(), "s");
  CHECK(a.n == 7);
  CHECK(a.c == 3);
  CHECK(a.h == 32);
  CHECK(a.w == 32);
  // NCHW index (ch, r, col) = (1, 2, 3) of image 5 was written from column-major X.
  CHECK(a.image(5)[(1 * 32 + 2) * 32 + 3] == pixel(5, (1 * 32 + 2) * 32 + 3));
  // label 10 means digit 0: image 9 % 10 + 1 = 10 -> 0; image 0 -> 1.
  CHECK(a.labels[0] == 1);
  CHECK(a.labels[6] == 7);
  CHECK(a.pixels == b.pixels);
  CHECK(a.labels == b.labels);
  CHECK(a.checksum == b.checksum);
  write_svhn(d / "ten.mat", 10, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB);
  CHECK(read_svhn_mat((d / "ten.mat").string(), "s").labels[9] == 0);
  // v7.3 (HDF5) files, which MATLAB writes for large arrays, when this libmatio is built with HDF5.
  if (matio_has_v73()) {
    write_svhn(d / "v73.mat", 7, MAT_FT_MAT73, MAT_COMPRESSION_NONE);
    write_svhn(d / "v73z.mat", 7, MAT_FT_MAT73, MAT_COMPRESSION_ZLIB, /*y_as_uint8=*/true);
    for (const char* f : {"v73.mat", "v73z.mat"}) {
      CAPTURE(f);
      const ImageDataset c = read_svhn_mat((d / f).string(), "s");
      CHECK(c.pixels == a.pixels);
      CHECK(c.labels == a.labels);
      CHECK(c.checksum == a.checksum);
    }
  } else {
    MESSAGE("libmatio without HDF5: v7.3 files not checked");
  }
  fs::remove_all(d);
}

TEST_CASE("SVHN .mat: missing, corrupt and wrong-shaped files give one error naming the file") {
  const fs::path d = temp_dir("svhnbad");
  const std::string p = (d / "f.mat").string();

  std::string e = error_of([&] { read_svhn_mat((d / "missing.mat").string(), "s"); });
  CHECK(contains(e, (d / "missing.mat").string()));
  CHECK(contains(e, "cannot open"));

  write_file(p, Bytes(300, 'z'));
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "not a MAT-file"));

  // A level-5 header with an unknown version: refused before libmatio tries its headerless v4 fallback.
  write_svhn(d / "ok5.mat", 1, MAT_FT_MAT5, MAT_COMPRESSION_NONE);
  Bytes v3 = read_bytes(d / "ok5.mat");
  v3[125] = 0x03;
  write_file(p, v3);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "not a MAT-file of level 5"));

  write_svhn(d / "ok.mat", 4, MAT_FT_MAT5, MAT_COMPRESSION_NONE);
  Bytes trunc = read_bytes(d / "ok.mat");
  trunc.resize(trunc.size() - 100);
  write_file(p, trunc);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "truncated or corrupt"));

  write_svhn(d / "okz.mat", 4, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB);
  Bytes ztrunc = read_bytes(d / "okz.mat");
  ztrunc.resize(200);  // inside the first compressed element
  write_file(p, ztrunc);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "truncated or corrupt"));

  Bytes zcorrupt = read_bytes(d / "okz.mat");
  for (size_t i = 140; i < 180; ++i) zcorrupt[i] ^= 0x5a;
  write_file(p, zcorrupt);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "truncated or corrupt"));

  // Uncompressed v5: the 4th dimension of X (int32 at byte 128 + 8 tag + 16 flags + 8 dims tag + 12) claims
  // 2^31 - 1 images; refused from the header, before anything is allocated.
  Bytes huge = read_bytes(d / "ok.mat");
  REQUIRE(huge.size() > 176);
  CHECK(huge[172] == 4);
  huge[172] = 0xff, huge[173] = 0xff, huge[174] = 0xff, huge[175] = 0x7f;
  write_file(p, huge);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "2147483647 images"));

  mat_t* empty = Mat_CreateVer(p.c_str(), nullptr, MAT_FT_MAT5);  // valid header, no variables
  REQUIRE(empty != nullptr);
  Mat_Close(empty);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "'X'"));

  write_svhn(p, 3, MAT_FT_MAT5, MAT_COMPRESSION_ZLIB, false, /*x_channels=*/1);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "X has dimensions 32x32x1x3"));

  write_svhn(p, 3, MAT_FT_MAT5, MAT_COMPRESSION_NONE, false, 3, /*y_rows=*/2);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "y has dimensions 2x1 but X holds 3 images"));

  // A label of 0 (y counts from 1): y's payload, three doubles, ends the uncompressed file.
  write_svhn(p, 3, MAT_FT_MAT5, MAT_COMPRESSION_NONE);
  Bytes zero_label = read_bytes(p);
  std::fill(zero_label.end() - 24, zero_label.end() - 16, uint8_t{0});  // y[0] = 1.0 becomes 0.0
  write_file(p, zero_label);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "label 0 of image 0"));
  fs::remove_all(d);
}

TEST_CASE("registry: load_dataset finds files, a missing file lists paths and the setup command") {
  const fs::path d = temp_dir("registry");
  write_gzip(d / "mnist" / "t10k-images-idx3-ubyte.gz", idx_images(20, 28, 28));
  write_file(d / "mnist" / "t10k-labels-idx1-ubyte", idx_labels(20));
  const ImageDataset ds = load_dataset("mnist", "test", d.string());
  CHECK(ds.n == 20);
  CHECK(ds.name == "mnist/test");

  std::string e = error_of([&] { load_dataset("mnist", "train", d.string()); });
  CHECK(contains(e, (d / "mnist" / "train-images-idx3-ubyte").string()));
  CHECK(contains(e, (d / "mnist" / "train-labels-idx1-ubyte").string()));
  CHECK(contains(e, "bash scripts/setup.sh"));

  e = error_of([&] { load_dataset("cifar10", "train", d.string()); });
  CHECK(contains(e, "data_batch_1.bin"));
  CHECK(contains(e, "data_batch_5.bin"));
  e = error_of([&] { load_dataset("svhn", "test", d.string()); });
  CHECK(contains(e, "test_32x32.mat"));
  e = error_of([&] { load_dataset("imagenet", "train", d.string()); });
  CHECK(contains(e, "unknown data set 'imagenet'"));
  CHECK(contains(e, "fashion-mnist"));
  e = error_of([&] { load_dataset("mnist", "valid", d.string()); });
  CHECK(contains(e, "unknown split 'valid'"));

  // A fixed hold-out split: last images become the validation set.
  const auto [fit, val] = split_holdout(ds, 5);
  CHECK(fit.n == 15);
  CHECK(val.n == 5);
  CHECK(val.labels[0] == ds.labels[15]);
  CHECK(std::equal(val.pixels.begin(), val.pixels.end(), ds.image(15)));
  fs::remove_all(d);
}

TEST_CASE("real Fashion-MNIST, if present, has the official shape") {
  const std::string dir = default_data_dir();
  if (!fs::exists(fs::path(dir) / "fashion-mnist")) return;  // data not set up: nothing to check
  const ImageDataset ds = load_dataset("fashion-mnist", "test", dir);
  CHECK(ds.n == 10000);
  CHECK(ds.h == 28);
  int counts[10] = {};
  for (int32_t l : ds.labels) ++counts[l];
  for (int c : counts) CHECK(c == 1000);  // the official test set is balanced
}
