// `lowbit train --method dfq --dfq-...`: a DFQ run through the CLI writes beta.csv and an ordinary precision
// config that `lowbit train --precision-config` and `lowbit info` accept; bad ranges, targets and λ are one clear
// error each, worded in flag names.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("cli: train --method dfq searches, writes its files, and flag errors are clear") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_dfq_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 64);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "train --dataset mnist --batch 32 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' --quant dorefa --wbits 8 --abits 8 --first-last q ";
  auto run = [&](const std::string& args, const std::string& out) {
    return lowbit::test::run_lowbit(common + args + " --out '" + (d / out).string() + "'");
  };
  lowbit::test::CliRun r = run("--epochs 2 --method dfq --dfq-target-bits 4 --dfq-search-epochs 1 --dfq-beta-lr 1", "ok");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(fs::exists(d / "ok" / "beta.csv"));
  std::ifstream f(d / "ok" / "results.json");
  const nlohmann::json res = nlohmann::json::parse(f);
  CHECK(res.at("method").at("name") == "dfq");
  CHECK(res.at("method").at("settings").at("target_bits") == 4.0);
  const std::string cfg = (d / "ok" / "dfq_precision.json").string();
  REQUIRE(fs::exists(cfg));
  r = lowbit::test::run_lowbit("info '" + (d / "ok" / "model.lbar").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.out, "dorefa W"));
  r = lowbit::test::run_lowbit("train --dataset mnist --batch 32 --threads 1 --no-progress --epochs 1 --data-dir '" +
                               (d / "data").string() + "' --precision-config '" + cfg + "' --out '" +
                               (d / "again").string() + "'");
  CHECK_MESSAGE(r.status == 0, r.all());

  r = run("--epochs 1 --method dfq --dfq-bmin 5 --dfq-bmax 3", "e1");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--dfq-bmax must be greater than b_min"));
  r = run("--epochs 1 --method dfq --dfq-bmax 9", "e2");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--dfq-bmax must be in [1, 8]"));
  r = run("--epochs 1 --method dfq --dfq-target-bits 1.5", "e3");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--dfq-target-bits must be in [b_min, b_max] = [2, 8]"));
  r = run("--epochs 1 --method dfq --dfq-lambda -1", "e4");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--dfq-lambda must be >= 0"));
  r = run("--epochs 1 --dfq-target-bits 3", "e5");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--dfq-target-bits needs --method dfq"));
  r = lowbit::test::run_lowbit("train --dataset mnist --batch 32 --threads 1 --no-progress --epochs 1 --data-dir '" +
                               (d / "data").string() + "' --method dfq --out '" + (d / "e6").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "dfq: the model has no quantized weight layer to search"));
  fs::remove_all(d);
}
