// The .lbm writer and loader: a written model loads and reads back; every truncation, bit flip, wrong version,
// out-of-range offset or id and inconsistent field is a status code with a message, never a crash.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/include/lowbit.h"
#include "runtime/lbm_writer.h"
#include "tests/runtime/lbm_test_models.h"

using namespace lowbit::runtime;
using namespace lowbit::runtime::testing;

namespace {

lowbit_status load(const std::vector<uint8_t>& b, std::string* msg = nullptr) {
  lowbit_model m;
  const lowbit_status s = lowbit_model_init(b.data(), b.size(), &m);
  if (msg) *msg = m.message;
  return s;
}

size_t tensor_record(const std::vector<uint8_t>& b, uint32_t i) {
  LbmHeader h;
  std::memcpy(&h, b.data(), sizeof h);
  return h.tensor_offset + size_t(i) * sizeof(LbmTensor);
}
size_t op_record(const std::vector<uint8_t>& b, uint32_t i) {
  LbmHeader h;
  std::memcpy(&h, b.data(), sizeof h);
  return h.op_offset + size_t(i) * sizeof(LbmOp);
}

}  // namespace

TEST_CASE("lbm: a written model loads and its info reads back") {
  const std::vector<uint8_t> b = tiny_binary_model().bytes();
  CHECK(b.size() % 4 == 0);
  lowbit_model m;
  REQUIRE(lowbit_model_init(b.data(), b.size(), &m) == LOWBIT_OK);
  CHECK(std::string(m.message).empty());
  lowbit_info info;
  REQUIRE(lowbit_model_info(&m, &info) == LOWBIT_OK);
  CHECK(std::string(info.name) == "tiny_binary");
  CHECK(info.version_major == kLbmVersionMajor);
  CHECK(info.in_c == 2);
  CHECK(info.in_h == 6);
  CHECK(info.in_w == 6);
  CHECK(info.classes == 3);
  CHECK(info.ops == 5);
  CHECK(info.file_bytes == b.size());
  REQUIRE(info.mean != nullptr);
  CHECK(info.mean[1] == 0.25f);
  CHECK(info.std[1] == 2.0f);
  lowbit_op_desc oi;
  REQUIRE(lowbit_op_info(&m, 1, &oi) == LOWBIT_OK);
  CHECK(std::string(oi.kind) == "conv2d");
  CHECK(std::string(oi.epilogue) == "bits");
  CHECK(oi.weight_bits == 1);
  CHECK(oi.macs == 4u * 36 * 18);
  CHECK(oi.out_shape[0] == 4);
  CHECK(lowbit_op_info(&m, 5, &oi) == LOWBIT_ERR_RANGE);
  // Every blob 64-byte aligned in the file.
  for (uint32_t i = 0; i < m.tensor_count; ++i) {
    LbmTensor t;
    std::memcpy(&t, b.data() + tensor_record(b, i), sizeof t);
    CHECK(t.offset % 64 == 0);
  }
}

TEST_CASE("lbm: canonical weight packings") {
  LbmWriter w("packing");
  const uint32_t x = w.add_f32_activation("in", {1, 1, 1});
  LbmWeightCodes t;
  t.codes = LbmCodes::ternary, t.bits = 2, t.shape = {2, 3};
  t.values = {-1, 0, 1, 1, 1, -1};
  const uint32_t tt = w.add_weights("t", t);
  LbmWeightCodes u;
  u.codes = LbmCodes::uint, u.bits = 2, u.zero_point = 1.5f, u.shape = {1, 5};
  u.values = {0, 1, 2, 3, 0};
  const uint32_t ut = w.add_weights("u", u);
  LbmWeightCodes s;
  s.codes = LbmCodes::sint, s.bits = 4, s.shape = {1, 3};
  s.values = {-8, 7, -1};
  const uint32_t st = w.add_weights("s", s);
  const uint32_t y = w.add_f32_activation("out", {1});
  w.add_global_avgpool("gap", x, y);
  w.set_input(x);
  w.set_output(y);
  const std::vector<uint8_t> b = w.bytes();
  auto blob = [&](uint32_t id) {
    LbmTensor r;
    std::memcpy(&r, b.data() + tensor_record(b, id), sizeof r);
    return std::vector<uint8_t>(b.begin() + long(r.offset), b.begin() + long(r.offset + r.size));
  };
  // t2: mask plane (row 0 word, row 1 word) then sign plane. Row 0 = {−1, 0, 1}: mask 0b101, sign 0b001.
  const std::vector<uint8_t> tb = blob(tt);
  REQUIRE(tb.size() == 32);
  CHECK(tb[0] == 0x5);
  CHECK(tb[8] == 0x7);
  CHECK(tb[16] == 0x1);
  CHECK(tb[24] == 0x4);
  // uint 2-bit codes stored centred (c − 2) as i2: {−2, −1, 0, 1, −2} → fields 10 11 00 01 | 10.
  const std::vector<uint8_t> ub = blob(ut);
  REQUIRE(ub.size() == 2);
  CHECK(ub[0] == 0x4E);
  CHECK(ub[1] == 0x02);
  const std::vector<uint8_t> sb = blob(st);
  REQUIRE(sb.size() == 2);
  CHECK(sb[0] == 0x78);
  CHECK(sb[1] == 0x0F);
}

TEST_CASE("lbm: a truncated file is refused at every length") {
  const std::vector<uint8_t> b = tiny_binary_model().bytes();
  for (size_t n = 0; n < b.size(); ++n) {
    const std::vector<uint8_t> cut(b.begin(), b.begin() + long(n));
    const lowbit_status s = load(cut);
    CHECK_MESSAGE(s != LOWBIT_OK, "length ", n);
    CHECK((s == LOWBIT_ERR_TRUNCATED || s == LOWBIT_ERR_NULL || s == LOWBIT_ERR_MAGIC));
  }
}

TEST_CASE("lbm: every single bit flip is caught") {
  const std::vector<uint8_t> b = tiny_binary_model().bytes();
  for (size_t i = 0; i < b.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> f = b;
      f[i] ^= static_cast<uint8_t>(1u << bit);
      const lowbit_status s = load(f);
      CHECK_MESSAGE(s != LOWBIT_OK, "byte ", i, " bit ", bit);
    }
}

TEST_CASE("lbm: wrong version, magic and header fields") {
  const std::vector<uint8_t> good = tiny_binary_model().bytes();
  std::string msg;
  std::vector<uint8_t> b = good;
  poke<uint16_t>(b, 4, 2);
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_VERSION);
  CHECK(msg.find("version 2.0") != std::string::npos);
  CHECK(msg.find("reads version 1") != std::string::npos);
  b = good;
  poke<uint16_t>(b, 6, 7);  // a newer minor version is read
  fix_crc(b);
  CHECK(load(b) == LOWBIT_OK);
  b = good;
  b[0] = 'X';
  CHECK(load(b) == LOWBIT_ERR_MAGIC);
  b = good;
  poke<uint64_t>(b, 16, good.size() + 1);
  CHECK(load(b) == LOWBIT_ERR_TRUNCATED);
  b = good;
  poke<uint32_t>(b, 24, 5000);  // tensor_count past the limit
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_RANGE);
  b = good;
  poke<uint32_t>(b, 28, 0xFFFFFFF0u);  // tensor table offset
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_RANGE);
  b = good;
  b[100] = 1;  // reserved
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  // Trailing bytes after the file are ignored; a misaligned blob is refused.
  b = good;
  b.push_back(0);
  CHECK(load(b) == LOWBIT_OK);
  std::vector<uint8_t> shifted(good.size() + 1);
  std::memcpy(shifted.data() + 1, good.data(), good.size());
  lowbit_model m;
  CHECK(lowbit_model_init(shifted.data() + 1, good.size(), &m) == LOWBIT_ERR_ALIGNMENT);
  CHECK(lowbit_model_init(nullptr, 10, &m) == LOWBIT_ERR_NULL);
  CHECK(lowbit_model_init(good.data(), good.size(), nullptr) == LOWBIT_ERR_NULL);
}

TEST_CASE("lbm: tensors outside the file or inconsistent") {
  const std::vector<uint8_t> good = tiny_binary_model().bytes();
  std::string msg;
  const uint32_t weights = 2;  // conv1.w
  const size_t rec = tensor_record(good, weights);
  LbmTensor t;
  std::memcpy(&t, good.data() + rec, sizeof t);
  std::vector<uint8_t> b = good;
  poke<uint64_t>(b, rec + offsetof(LbmTensor, offset), (good.size() / 64 + 4) * 64);
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_RANGE);
  CHECK(msg.find("conv1.w") != std::string::npos);
  b = good;
  poke<uint64_t>(b, rec + offsetof(LbmTensor, offset), ~uint64_t{0} - 63);  // offset + size overflows
  fix_crc(b);
  CHECK(load(b) != LOWBIT_OK);
  b = good;
  poke<uint64_t>(b, rec + offsetof(LbmTensor, size), t.size + 8);
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_MALFORMED);
  b = good;
  poke<uint32_t>(b, rec + offsetof(LbmTensor, dims) + 4, 3);  // Cg no longer matches the input
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  b = good;
  poke<uint32_t>(b, rec + offsetof(LbmTensor, dims), 0xFFFFFFu + 2);  // a dimension past 2^24
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_RANGE);
  b = good;
  b[rec + offsetof(LbmTensor, dtype)] = 200;
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  b = good;
  poke<uint32_t>(b, rec + offsetof(LbmTensor, name_offset), 1u << 30);
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_RANGE);
  b = good;  // a padding bit set in a binary weight row (K = 18 bits per row of one word)
  b[t.offset + 3] |= 0x80;
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_MALFORMED);
  CHECK(msg.find("padding") != std::string::npos);
}

TEST_CASE("lbm: ops with bad ids, kinds, attributes or dataflow") {
  const std::vector<uint8_t> good = tiny_binary_model().bytes();
  std::string msg;
  const size_t conv = op_record(good, 1);
  std::vector<uint8_t> b = good;
  poke<uint32_t>(b, conv + offsetof(LbmOp, inputs) + 4 * kInW, 9999);
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_RANGE);
  CHECK(msg.find("conv1") != std::string::npos);
  b = good;
  poke<uint16_t>(b, conv + offsetof(LbmOp, kind), 77);
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  b = good;
  poke<int32_t>(b, conv + offsetof(LbmOp, attrs) + 4 * kAttrStrideH, 0);
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  b = good;
  poke<int32_t>(b, conv + offsetof(LbmOp, attrs) + 4 * kAttrEpilogue, int32_t(LbmEpilogue::f32));
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
  b = good;  // the conv reads the flatten's output, written later
  poke<uint32_t>(b, conv + offsetof(LbmOp, inputs), 12);
  fix_crc(b);
  CHECK(load(b) != LOWBIT_OK);
  b = good;  // two ops write one tensor
  LbmOp pool;
  std::memcpy(&pool, good.data() + op_record(good, 2), sizeof pool);
  poke<uint32_t>(b, op_record(good, 3) + offsetof(LbmOp, outputs), pool.outputs[0]);
  fix_crc(b);
  CHECK(load(b, &msg) == LOWBIT_ERR_MALFORMED);
  b = good;  // weights given as the conv's input activation
  poke<uint32_t>(b, conv + offsetof(LbmOp, inputs), 2);
  fix_crc(b);
  CHECK(load(b) == LOWBIT_ERR_MALFORMED);
}

TEST_CASE("lbm: the writer refuses bad codes and names what is wrong") {
  LbmWriter w("bad");
  LbmWeightCodes c;
  c.codes = LbmCodes::binary, c.bits = 1, c.shape = {2, 2}, c.values = {1, -1, 0, 1};
  CHECK_THROWS_WITH_AS(w.add_weights("w0", c), doctest::Contains("w0"), std::invalid_argument);
  c.codes = LbmCodes::uint, c.bits = 2, c.values = {0, 1, 2, 4};
  CHECK_THROWS_WITH_AS(w.add_weights("w1", c), doctest::Contains("code 4"), std::invalid_argument);
  c.values = {0, 1, 2, 3};
  c.zero_point = 0.25f;
  CHECK_THROWS_AS(w.add_weights("w2", c), std::invalid_argument);
  CHECK_THROWS_AS(w.add_code_activation("a", LbmDtype::u8, 9, {1}, 1.0f, 0), std::invalid_argument);
  CHECK_THROWS_AS(w.add_f32("v", {3}, {1.0f, 2.0f}), std::invalid_argument);
  const uint32_t x = w.add_f32_activation("in", {1, 2, 2});
  CHECK_THROWS_AS(w.add_maxpool("p", x, 77, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(w.bytes(), std::invalid_argument);  // no input / output yet
  const uint32_t y = w.add_f32_activation("out", {4});
  w.set_input(x);
  w.set_output(y);
  CHECK_THROWS_WITH_AS(w.bytes(), doctest::Contains("no ops"), std::invalid_argument);
  w.add_flatten("flat", x, y);
  CHECK(load(w.bytes()) == LOWBIT_OK);
}

TEST_CASE("lbm: c header holds the bytes, the length and the arena size") {
  const std::vector<uint8_t> b = tiny_binary_model().bytes();
  const std::string h = lbm_c_header(b, "tiny_model", 4096);
  CHECK(h.find("#define TINY_MODEL_LEN " + std::to_string(b.size()) + "u") != std::string::npos);
  CHECK(h.find("#define TINY_MODEL_ARENA_BYTES 4096u") != std::string::npos);
  CHECK(h.find("aligned(64)") != std::string::npos);
  CHECK(h.find("0x4c,0x42,0x4d,0x1a,") != std::string::npos);
  CHECK_THROWS_AS(lbm_c_header(b, "1bad", 0), std::invalid_argument);
}

TEST_CASE("lbm: crc32 is the zlib CRC") {
  const char* s = "123456789";
  CHECK(lbm_crc32(0, reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u);
  CHECK(lbm_crc32(lbm_crc32(0, reinterpret_cast<const uint8_t*>(s), 4), reinterpret_cast<const uint8_t*>(s) + 4, 5) ==
        0xCBF43926u);
}

TEST_CASE("lbm: status strings") {
  for (int s = 0; s <= LOWBIT_ERR_INTERNAL; ++s)
    CHECK(std::string(lowbit_status_string(static_cast<lowbit_status>(s))) != "unknown status");
  CHECK(std::string(lowbit_status_string(static_cast<lowbit_status>(99))) == "unknown status");
}
