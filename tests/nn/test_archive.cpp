// Tensor archive: round trips, atomic writes, and a refused load for every kind of damage, with the message.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/error.h"
#include "nn/archive.h"
#include "nn/zoo/zoo.h"

using namespace lowbit;
using namespace lowbit::nn;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "lowbit_archive_XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<NamedTensor> sample_tensors() {
  std::vector<NamedTensor> t;
  Tensor a(Shape{2, 3});
  for (int i = 0; i < 6; ++i) a[i] = float(i) * 0.5f - 1.0f;
  t.emplace_back("layer.weight", a);
  t.emplace_back("step", Tensor::scalar(42.0f));
  Tensor b(Shape{1, 2, 3, 5});
  for (int i = 0; i < 30; ++i) b[i] = -float(i) / 7.0f;
  t.emplace_back("conv.w", b);
  return t;
}

void refresh_crc(std::vector<uint8_t>& b) {
  const uint32_t crc = uint32_t(crc32(0L, b.data(), uInt(b.size() - 4)));
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = uint8_t(crc >> (8 * i));
}

std::string decode_error(const std::vector<uint8_t>& b) {
  try {
    decode_archive(b.data(), b.size(), "test.lbar");
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

size_t find_bytes(const std::vector<uint8_t>& b, const std::string& s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
  REQUIRE(it != b.end());
  return size_t(it - b.begin());
}
}  // namespace

TEST_CASE("archive: encode/decode round trip keeps names, shapes, values and metadata") {
  const auto tensors = sample_tensors();
  const nlohmann::json meta = {{"model", "lenet5"}, {"epoch", 3}, {"note", "ünïcode"}};
  const auto bytes = encode_archive(meta, tensors);
  CHECK(std::memcmp(bytes.data(), "LBAR", 4) == 0);
  CHECK(bytes[4] == 1);  // major, little-endian
  CHECK(bytes[5] == 0);
  const Archive a = decode_archive(bytes.data(), bytes.size(), "mem");
  CHECK(a.meta == meta);
  REQUIRE(a.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CHECK(a.tensors[i].first == tensors[i].first);
    CHECK(a.tensors[i].second.shape() == tensors[i].second.shape());
    CHECK(a.tensors[i].second.to_vector() == tensors[i].second.to_vector());
  }
  CHECK(a.get("step").rank() == 0);
  CHECK(a.get("step").item() == 42.0f);
  CHECK(a.contains("conv.w"));
  CHECK_THROWS_WITH_AS(a.get("nope"), doctest::Contains("no tensor named 'nope'"), Error);
  // Payloads are 64-byte aligned: the first float of layer.weight (−1.0f = 0xBF800000) sits at a multiple of 64.
  const uint8_t minus_one[4] = {0x00, 0x00, 0x80, 0xBF};
  size_t at = 0;
  for (; at + 4 <= bytes.size(); ++at)
    if (std::memcmp(bytes.data() + at, minus_one, 4) == 0) break;
  CHECK(at % 64 == 0);
  // Empty archive.
  const auto empty = encode_archive(nlohmann::json::object(), {});
  CHECK(decode_archive(empty.data(), empty.size(), "mem").tensors.empty());
  CHECK_THROWS_WITH_AS(encode_archive(meta, {tensors[0], tensors[0]}), doctest::Contains("duplicate tensor name"),
                       Error);
  CHECK_THROWS_AS(encode_archive(nlohmann::json::array(), tensors), Error);
}

TEST_CASE("archive: damaged archives are refused with a message naming the file and the problem") {
  const auto good = encode_archive({{"model", "x"}}, sample_tensors());

  SUBCASE("bad magic") {
    auto b = good;
    std::memcpy(b.data(), "GGUF", 4);
    const std::string m = decode_error(b);
    CHECK(m.find("test.lbar") != std::string::npos);
    CHECK(m.find("bad magic 'GGUF'") != std::string::npos);
  }
  SUBCASE("unknown major version, with a hint") {
    auto b = good;
    b[4] = 2;
    const std::string m = decode_error(b);
    CHECK(m.find("unknown major version 2.0") != std::string::npos);
    CHECK(m.find("re-save") != std::string::npos);
  }
  SUBCASE("truncated anywhere") {
    for (size_t len : {size_t(2), size_t(20), size_t(100), good.size() - 1}) {
      CAPTURE(len);
      std::vector<uint8_t> b(good.begin(), good.begin() + long(len));
      const std::string m = decode_error(b);
      CHECK((m.find("truncated") != std::string::npos || m.find("too small") != std::string::npos));
    }
  }
  SUBCASE("trailing data") {
    auto b = good;
    b.push_back(0);
    CHECK(decode_error(b).find("trailing data") != std::string::npos);
  }
  SUBCASE("CRC mismatch from a flipped payload bit or metadata byte") {
    auto b = good;
    b[b.size() - 10] ^= 0x10;
    CHECK(decode_error(b).find("CRC mismatch") != std::string::npos);
    auto c = good;
    c[find_bytes(c, "model")] = 'M';
    CHECK(decode_error(c).find("CRC mismatch") != std::string::npos);
  }
  SUBCASE("duplicate names (with a valid CRC)") {
    // Two same-length names; rewrite the second into the first.
    std::vector<NamedTensor> t{{"aa", Tensor::ones(Shape{2})}, {"ab", Tensor::ones(Shape{2})}};
    auto d = encode_archive(nlohmann::json::object(), t);
    d[find_bytes(d, "ab") + 1] = 'a';
    refresh_crc(d);
    CHECK(decode_error(d).find("duplicate tensor name 'aa'") != std::string::npos);
  }
  SUBCASE("invalid metadata JSON (with a valid CRC)") {
    auto b = good;
    b[find_bytes(b, "{\"model\"")] = '[';
    refresh_crc(b);
    CHECK(decode_error(b).find("metadata is not valid JSON") != std::string::npos);
  }
  SUBCASE("tensor rank, offset and size fields are bounds-checked (with a valid CRC)") {
    std::vector<NamedTensor> t{{"w", Tensor::ones(Shape{4})}};
    const auto base = encode_archive(nlohmann::json::object(), t);
    const size_t rank_at = find_bytes(base, "w") + 1;  // u32 rank, then u64 dim, then u64 offset
    auto r = base;
    r[rank_at] = 7;
    refresh_crc(r);
    CHECK(decode_error(r).find("has rank 7") != std::string::npos);
    auto d = base;
    d[rank_at + 4 + 5] = 1;  // dim = 4 + 2^40
    refresh_crc(d);
    CHECK(decode_error(d).find("does not fit") != std::string::npos);
    auto o = base;
    o[rank_at + 12] += 4;  // offset no longer aligned
    refresh_crc(o);
    CHECK(decode_error(o).find("not 64-byte aligned") != std::string::npos);
    auto p = base;
    p[rank_at + 13] = 1;  // offset + 256: past the end
    refresh_crc(p);
    CHECK(decode_error(p).find("outside the payload area") != std::string::npos);
    auto c = base;
    c[20] = 5;  // tensor count 5 with one entry
    refresh_crc(c);
    CHECK(decode_error(c).find("tensor table entry 1") != std::string::npos);
  }
}

TEST_CASE("archive: files are written atomically and read back") {
  TempDir dir;
  const std::string path = (dir.path / "ckpt.lbar").string();
  write_archive(path, {{"epoch", 1}}, sample_tensors());
  write_archive(path, {{"epoch", 2}}, sample_tensors());  // overwrite in place
  const Archive a = read_archive(path);
  CHECK(a.meta["epoch"] == 2);
  CHECK(a.label == path);
  CHECK(a.tensors.size() == 3);
  // No temporary files left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  CHECK_THROWS_WITH_AS(read_archive((dir.path / "missing.lbar").string()), doctest::Contains("cannot open"), Error);
  CHECK_THROWS_WITH_AS(write_archive((dir.path / "no/such/dir/x.lbar").string(), nlohmann::json::object(), {}),
                       doctest::Contains("cannot create a temporary file"), Error);
  // A failed write (here: the target is a directory, so the final rename fails) leaves no temporary file.
  const fs::path blocked = dir.path / "blocked.lbar";
  fs::create_directory(blocked);
  CHECK_THROWS_WITH_AS(write_archive(blocked.string(), nlohmann::json::object(), sample_tensors()),
                       doctest::Contains("rename from"), Error);
  // The temporary name carries the writer's pid.
  CHECK_THROWS_WITH_AS(write_archive(blocked.string(), nlohmann::json::object(), sample_tensors()),
                       doctest::Contains((".blocked.lbar.tmp." + std::to_string(::getpid()) + ".").c_str()), Error);
  files = 0;
  for (auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++files;
  }
  CHECK(files == 2);  // ckpt.lbar and the blocked directory
  // A truncated file on disk names the path.
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), long(bytes.size() / 2));
  }
  CHECK_THROWS_WITH_AS(read_archive(path), doctest::Contains((path + "': truncated").c_str()), Error);
}

TEST_CASE("archive: metadata nested deeper than 128 levels is refused when decoding, without a crash") {
  // 200 levels: encodable, and refused on the way back in.
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 199; ++i) deep = nlohmann::json::array({deep});
  const std::vector<uint8_t> enc = encode_archive({{"a", deep}}, sample_tensors());
  CHECK_THROWS_WITH_AS(decode_archive(enc.data(), enc.size(), "deep.lbar"),
                       doctest::Contains("archive 'deep.lbar': metadata is nested deeper than 128 levels"), Error);
  // 1M levels, written by hand (a recursive dump could not even produce it): no stack overflow either.
  const std::string text = "{\"a\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  std::vector<uint8_t> b = {'L', 'B', 'A', 'R', 1, 0, 0, 0};
  const uint64_t total = (24 + text.size() + 63) / 64 * 64 + 4;
  for (int i = 0; i < 8; ++i) b.push_back(uint8_t(total >> (8 * i)));
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(uint64_t(text.size()) >> (8 * i)));
  b.insert(b.end(), 4, 0);  // no tensors
  b.insert(b.end(), text.begin(), text.end());
  b.resize(size_t(total) - 4, 0);
  const uint32_t crc = uint32_t(crc32(crc32(0L, Z_NULL, 0), b.data(), uInt(b.size())));
  for (int i = 0; i < 4; ++i) b.push_back(uint8_t(crc >> (8 * i)));
  CHECK_THROWS_WITH_AS(decode_archive(b.data(), b.size(), "deeper.lbar"),
                       doctest::Contains("nested deeper than 128 levels"), Error);
  // Ordinary nesting (a checkpoint's config and history) still loads.
  const std::vector<uint8_t> ok = encode_archive({{"config", {{"optim", {{"lr", 0.1}}}}}, {"history", {{{"epoch", 1}}}}},
                                                 sample_tensors());
  CHECK(decode_archive(ok.data(), ok.size(), "ok.lbar").meta["config"]["optim"]["lr"] == 0.1);
}

TEST_CASE("archive: temp files of dead writers are removed, a live writer's file and other files are kept") {
  TempDir dir;
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);  // reaped: its pid names no process now
  const std::string dead = std::to_string(child), live = std::to_string(::getpid());
  auto touch = [&](const std::string& name) { std::ofstream(dir.path / name) << "partial checkpoint"; };
  touch(".checkpoint.lbar.tmp." + dead + ".a1B2c3");  // killed mid-write: stale
  touch(".results.json.tmp." + dead + ".Zz9Yy8");     // stale as well
  touch(".checkpoint.lbar.tmp." + live + ".d4E5f6");  // a writer that still runs (this process)
  touch(".checkpoint.lbar.tmp.q7R8s9");                // no pid: not ours to judge
  touch("checkpoint.lbar");
  touch("notes.tmp." + dead + ".abcdef");              // not a hidden temp name
  fs::create_directory(dir.path / (".model.lbar.tmp." + dead + ".g1H2i3"));  // a directory, not a temp file

  std::vector<std::string> removed = remove_stale_temp_files(dir.path.string());
  std::sort(removed.begin(), removed.end());
  REQUIRE(removed.size() == 2);
  CHECK(removed[0] == (dir.path / (".checkpoint.lbar.tmp." + dead + ".a1B2c3")).string());
  CHECK(removed[1] == (dir.path / (".results.json.tmp." + dead + ".Zz9Yy8")).string());
  CHECK_FALSE(fs::exists(dir.path / (".checkpoint.lbar.tmp." + dead + ".a1B2c3")));
  CHECK(fs::exists(dir.path / (".checkpoint.lbar.tmp." + live + ".d4E5f6")));
  CHECK(fs::exists(dir.path / ".checkpoint.lbar.tmp.q7R8s9"));
  CHECK(fs::exists(dir.path / "checkpoint.lbar"));
  CHECK(fs::exists(dir.path / ("notes.tmp." + dead + ".abcdef")));
  CHECK(fs::is_directory(dir.path / (".model.lbar.tmp." + dead + ".g1H2i3")));
  CHECK(remove_stale_temp_files(dir.path.string()).empty());  // idempotent
  CHECK(remove_stale_temp_files((dir.path / "missing").string()).empty());
}

TEST_CASE("archive: save_module / load_module with model-name check") {
  TempDir dir;
  const std::string path = (dir.path / "lenet.lbar").string();
  ModelOptions o;
  auto a = make_model("lenet5", o);
  save_module(path, *a, {{"model", "lenet5"}});
  o.seed = 99;
  auto b = make_model("lenet5", o);
  CHECK(a->state_dict()[0].second.to_vector() != b->state_dict()[0].second.to_vector());
  const auto meta = load_module(path, *b, "lenet5");
  CHECK(meta["model"] == "lenet5");
  CHECK(meta["kind"] == "state_dict");
  const auto sa = a->state_dict(), sb = b->state_dict();
  for (size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].second.to_vector() == sb[i].second.to_vector());

  CHECK_THROWS_WITH_AS(load_module(path, *b, "resnet20"), doctest::Contains("holds model 'lenet5', expected 'resnet20'"),
                       Error);
  auto r = make_model("resnet8", ModelOptions{});
  const std::string m = [&] {
    try {
      load_module(path, *r);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  }();
  CHECK(m.find(path) != std::string::npos);
  CHECK(m.find("missing keys: layer1.0.conv1.weight") != std::string::npos);
  CHECK(m.find("unexpected keys:") != std::string::npos);
}
