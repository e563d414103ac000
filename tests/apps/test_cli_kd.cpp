// `lowbit train --method kd --teacher CKPT --kd-temperature T --kd-alpha A`: a distilled run records its method
// and teacher; bad combinations of the flags and a missing teacher are one clear error each.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/cli_runner.h"

namespace fs = std::filesystem;

namespace {
struct Run {
  int status = -1;
  std::string out;  // stdout + stderr
};

Run run(const std::string& args) {
  const lowbit::test::CliRun c = lowbit::test::run_lowbit(args);
  return {c.status, c.all()};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void put_be32(std::string& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<char>(v >> s));
}
// A tiny MNIST-shaped data set in IDX format: class k brightens rows 2k..2k+3.
void write_tiny_mnist(const fs::path& dir, const std::string& prefix, int n) {
  fs::create_directories(dir);
  std::string img, lab;
  put_be32(img, 0x803);
  put_be32(img, n);
  put_be32(img, 28);
  put_be32(img, 28);
  put_be32(lab, 0x801);
  put_be32(lab, n);
  for (int i = 0; i < n; ++i) {
    const int k = (i * 7) % 10;
    lab.push_back(static_cast<char>(k));
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        img.push_back(static_cast<char>((y >= 2 * k + 2 && y < 2 * k + 6) ? 200 : (i * x + y) % 40));
  }
  gzFile gz = gzopen((dir / (prefix + "-images-idx3-ubyte.gz")).string().c_str(), "wb");
  gzwrite(gz, img.data(), static_cast<unsigned>(img.size()));
  gzclose(gz);
  std::ofstream(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary) << lab;
}
}  // namespace

TEST_CASE("cli: train --method kd distils from --teacher and records it, flag errors are clear") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_kd_" + std::to_string(::getpid()));
  fs::remove_all(d);
  write_tiny_mnist(d / "data" / "mnist", "train", 64);
  write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "--dataset mnist --batch 32 --epochs 1 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' ";
  Run r = run("train " + common + "--out '" + (d / "teacher").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const std::string teacher = (d / "teacher" / "model.lbar").string();

  r = run("train " + common + "--quant dorefa --wbits 1 --abits 1 --init '" + teacher + "' --method kd --teacher '" +
          teacher + "' --kd-temperature 3 --kd-alpha 0.5 --out '" + (d / "kd").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::ifstream f(d / "kd" / "results.json");
  const nlohmann::json res = nlohmann::json::parse(f);
  CHECK(res.at("method").at("name") == "kd");
  CHECK(res.at("method").at("settings") == nlohmann::json{{"temperature", 3.0}, {"alpha", 0.5}});
  CHECK(res.at("method").at("teacher").at("path") == teacher);

  r = run("train " + common + "--kd-alpha 0.5 --out '" + (d / "e1").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.out, "--kd-temperature / --kd-alpha need --method kd"));
  r = run("train " + common + "--method kd --out '" + (d / "e2").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.out, "method 'kd' needs a teacher model file"));
  r = run("train " + common + "--method kd --teacher '" + (d / "none.lbar").string() + "' --out '" +
          (d / "e3").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.out, "none.lbar' does not exist"));
  r = run("train " + common + "--method kd --teacher '" + teacher + "' --kd-alpha 2 --out '" + (d / "e4").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.out, "--kd-alpha must be in [0, 1], got 2"));
  r = run("train " + common + "--method dcqx --teacher '" + teacher + "' --out '" + (d / "e5").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.out, "unknown training method 'dcqx'"));
  fs::remove_all(d);
}
