// `lowbit export`, `lowbit run`, `lowbit info model.lbm` end to end on a tiny trained model: the runtime's
// accuracy equals `lowbit eval`'s, the C-header flavour holds the same bytes, info lists the ops, and bad input
// (a truncated or bit-flipped file, a file that is not a checkpoint, a bad symbol) gives one clear error naming the
// file, with a non-zero exit.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "../support/cli_runner.h"
#include "../support/tiny_data.h"
#include "../support/tiny_w1a1.h"

namespace fs = std::filesystem;

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
std::vector<char> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void write_bytes(const fs::path& p, const std::vector<char>& b) {
  std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}
// "accuracy 12.34%" → "12.34"
std::string accuracy_of(const std::string& text) {
  std::smatch m;
  return std::regex_search(text, m, std::regex("accuracy:? ([0-9.]+)%")) ? m[1].str() : "?";
}
}  // namespace

TEST_CASE("cli: export, run and info of a packed model, and their errors") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_export_" + std::to_string(::getpid()));
  fs::remove_all(d);
  const std::string data = lowbit::test::train_tiny_w1a1_lenet(d, 64, 48);
  const std::string ckpt = (d / "run" / "model.lbar").string(), lbm = (d / "m.lbm").string();

  auto r = lowbit::test::run_lowbit("export '" + ckpt + "' --out '" + lbm + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK_MESSAGE(has(r.out, "lenet5, 10 ops"), r.out);

  // The runtime's accuracy is the training graph's.
  const auto ev = lowbit::test::run_lowbit("eval --checkpoint '" + ckpt + "' --dataset mnist" + data);
  REQUIRE_MESSAGE(ev.status == 0, ev.all());
  r = lowbit::test::run_lowbit("run '" + lbm + "' --dataset mnist --batch 20 --predictions '" + (d / "p.txt").string() +
                               "' --logits '" + (d / "l.txt").string() + "'" + data);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK_MESSAGE(accuracy_of(r.out) == accuracy_of(ev.all()), r.out << ev.all());
  CHECK(has(r.out, "(48 images)"));
  std::ifstream preds(d / "p.txt");
  int lines = 0;
  for (std::string l; std::getline(preds, l);) lines += !l.empty();
  CHECK(lines == 48);

  // info: header, the ops, MACs by precision.
  r = lowbit::test::run_lowbit("info '" + lbm + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.out, "model: lenet5 (.lbm 1.0"));
  CHECK(has(r.out, "conv2+bn2+act2"));
  CHECK(has(r.out, "W1A1"));
  CHECK(has(r.out, "arena"));

  // The C header: the same bytes as a const, aligned array with the arena size.
  const std::string hdr = (d / "lenet5_w1a1.h").string();
  r = lowbit::test::run_lowbit("export '" + ckpt + "' --format c-header --out '" + hdr + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  const std::vector<char> h = read_bytes(hdr);
  const std::string text(h.begin(), h.end());
  CHECK(has(text, "static const unsigned char lenet5_w1a1[" + std::to_string(fs::file_size(lbm)) + "]"));
  CHECK(has(text, "LENET5_W1A1_ARENA_BYTES"));
  CHECK(has(text, "LENET5_W1A1_LEN " + std::to_string(fs::file_size(lbm)) + "u"));
  r = lowbit::test::run_lowbit("export '" + ckpt + "' --format c-header --symbol 9bad --out '" + hdr + "'");
  CHECK(r.status == 1);
  CHECK(has(r.err, "--symbol '9bad' is not a C identifier"));

  // Truncated and bit-flipped files: one error naming the file, exit 1.
  const std::vector<char> good = read_bytes(lbm);
  const fs::path bad = d / "bad.lbm";
  write_bytes(bad, std::vector<char>(good.begin(), good.begin() + static_cast<long>(good.size() / 2)));
  for (const char* cmd : {"info", "run"}) {
    r = lowbit::test::run_lowbit(std::string(cmd) + " '" + bad.string() + "'" + (cmd[0] == 'r' ? " --dataset mnist" + data : ""));
    CHECK(r.status == 1);
    CHECK_MESSAGE(has(r.err, "lowbit: error: '" + bad.string() + "' is not a model the runtime can run"), r.err);
  }
  std::vector<char> flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  write_bytes(bad, flipped);
  r = lowbit::test::run_lowbit("run '" + bad.string() + "' --dataset mnist" + data);
  CHECK(r.status == 1);
  CHECK_MESSAGE(has(r.err, "CRC"), r.err);
  // A missing checkpoint; a file that is not a checkpoint.
  r = lowbit::test::run_lowbit("export '" + lbm + "' --out '" + (d / "x.lbm").string() + "'");
  CHECK(r.status == 1);
  CHECK(has(r.err, lbm));
  fs::remove_all(d);
}
