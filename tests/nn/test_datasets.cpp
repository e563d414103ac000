// Dataset readers: small files written in the official formats (IDX raw and gzip, CIFAR-10 binary, SVHN
// level-5 MAT with and without compression) round-trip; corrupt ones give errors naming the file and problem.
#include <doctest/doctest.h>
#include <zlib.h>

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
void put_le32(Bytes& b, uint32_t v) {
  for (int s = 0; s < 32; s += 8) b.push_back(static_cast<uint8_t>(v >> s));
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

// ---- a minimal MATLAB level-5 writer (the subset SVHN uses) ----
void pad8(Bytes& b) {
  while (b.size() % 8) b.push_back(0);
}
void put_element(Bytes& b, uint32_t type, const Bytes& data, bool allow_small = true) {
  if (allow_small && data.size() <= 4) {  // small data element format
    put_le32(b, (static_cast<uint32_t>(data.size()) << 16) | type);
    Bytes d = data;
    d.resize(4, 0);
    b.insert(b.end(), d.begin(), d.end());
    return;
  }
  put_le32(b, type);
  put_le32(b, static_cast<uint32_t>(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  pad8(b);
}
// miMATRIX of class cls, real part stored as `type` with the given raw bytes.
Bytes mat_matrix(const std::string& name, uint8_t cls, const std::vector<int32_t>& dims, uint32_t type,
                 const Bytes& real) {
  Bytes body;
  Bytes flags;
  put_le32(flags, cls);
  put_le32(flags, 0);
  put_element(body, 6 /*miUINT32*/, flags, false);
  Bytes d;
  for (int32_t v : dims) put_le32(d, static_cast<uint32_t>(v));
  put_element(body, 5 /*miINT32*/, d, false);
  put_element(body, 1 /*miINT8*/, Bytes(name.begin(), name.end()));
  put_element(body, type, real);
  Bytes m;
  put_element(m, 14 /*miMATRIX*/, body, false);
  return m;
}
Bytes mat_compressed(const Bytes& element) {
  uLongf len = compressBound(element.size());
  Bytes z(len);
  REQUIRE(compress2(z.data(), &len, element.data(), element.size(), 6) == Z_OK);
  z.resize(len);
  Bytes b;
  put_le32(b, 15);
  put_le32(b, static_cast<uint32_t>(z.size()));
  b.insert(b.end(), z.begin(), z.end());  // compressed elements are not padded
  return b;
}
Bytes mat_header() {
  std::string text = "MATLAB 5.0 MAT-file, written by lowbit tests";
  text.resize(116, ' ');
  Bytes b(text.begin(), text.end());
  b.resize(124, 0);
  b.push_back(0x00);
  b.push_back(0x01);
  b.push_back('I');
  b.push_back('M');
  return b;
}
// SVHN-shaped file with n images; label of image i is (i % 10) + 1 (10 = digit 0); y stored as double.
Bytes svhn_mat(int n, bool compressed, bool y_as_uint8 = false) {
  Bytes x(static_cast<size_t>(n) * 3072);
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int col = 0; col < 32; ++col)
        for (int r = 0; r < 32; ++r)  // column-major: r fastest
          x[r + 32 * col + 1024 * ch + 3072 * i] = pixel(i, (ch * 32 + r) * 32 + col);
  Bytes y;
  for (int i = 0; i < n; ++i) {
    const double v = (i % 10) + 1;
    if (y_as_uint8) {
      y.push_back(static_cast<uint8_t>(v));
    } else {
      uint8_t raw[8];
      std::memcpy(raw, &v, 8);
      y.insert(y.end(), raw, raw + 8);
    }
  }
  Bytes mx = mat_matrix("X", 9 /*uint8*/, {32, 32, 3, n}, 2 /*miUINT8*/, x);
  Bytes my = mat_matrix("y", 6 /*double*/, {n, 1}, y_as_uint8 ? 2 : 9 /*miDOUBLE*/, y);
  Bytes f = mat_header();
  for (const Bytes* e : {&mx, &my}) {
    const Bytes el = compressed ? mat_compressed(*e) : *e;
    f.insert(f.end(), el.begin(), el.end());
  }
  return f;
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

TEST_CASE("SVHN .mat: uncompressed and compressed level-5 files decode to the same NCHW images") {
  const fs::path d = temp_dir("svhn");
  write_file(d / "plain.mat", svhn_mat(7, false));
  write_file(d / "zip.mat", svhn_mat(7, true, /*y_as_uint8=*/true));
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
  write_file(d / "ten.mat", svhn_mat(10, true));
  CHECK(read_svhn_mat((d / "ten.mat").string(), "s").labels[9] == 0);
  fs::remove_all(d);
}

TEST_CASE("SVHN .mat: corrupt files give clear errors") {
  const fs::path d = temp_dir("svhnbad");
  const std::string p = (d / "f.mat").string();

  Bytes trunc = svhn_mat(4, false);
  trunc.resize(trunc.size() - 100);
  write_file(p, trunc);
  std::string e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "truncated"));

  Bytes ztrunc = svhn_mat(4, true);
  ztrunc.resize(200);  // inside the first compressed element
  write_file(p, ztrunc);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));

  Bytes zcorrupt = svhn_mat(4, true);
  for (size_t i = 140; i < 180; ++i) zcorrupt[i] ^= 0x5a;
  write_file(p, zcorrupt);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, p));
  CHECK(contains(e, "corrupt"));

  Bytes hdf5 = svhn_mat(2, false);
  hdf5[126] = 'H';
  write_file(p, hdf5);
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, "not a MATLAB level-5"));

  write_file(p, mat_header());  // valid header, no variables
  e = error_of([&] { read_svhn_mat(p, "s"); });
  CHECK(contains(e, "'X'"));
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
