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
#include "../support/tiny_data.h"

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

using lowbit::test::write_tiny_mnist;
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
  CHECK(has(r.out, "--kd-alpha needs --method kd"));
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
