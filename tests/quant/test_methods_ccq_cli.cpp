// `lowbit train --method ccq ...` on a tiny MNIST: the search runs, the run records it, the found per-layer config
// is an ordinary precision config that `lowbit info --precision-config` accepts, and bad flags are clear errors
// that name the flag.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("cli: train --method ccq searches, records and writes a precision config, bad flags are clear") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_ccq_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 64);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "--model lenet5 --dataset mnist --batch 16 --epochs 1 --threads 1 --no-progress "
                             "--data-dir '" + (d / "data").string() + "' ";
  auto run = [](const std::string& args) { return lowbit::test::run_lowbit(args); };
  lowbit::test::CliRun r = run("train " + common + "--out '" + (d / "fp32").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  const std::string init = (d / "fp32" / "model.lbar").string();
  const std::string q = "--quant dorefa --abits 4 --first-last q --init '" + init + "' ";

  r = run("train " + common + q + "--val-holdout 16 --method ccq --ccq-warmup-steps 1 --ccq-finetune-steps 2 "
          "--ccq-target-value 6 --ccq-epsilon 1 --out '" + (d / "ccq").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  std::ifstream f(d / "ccq" / "results.json");
  const nlohmann::json res = nlohmann::json::parse(f);
  CHECK(res.at("method").at("name") == "ccq");
  CHECK(res.at("method").at("settings").at("target_value") == 6.0);
  CHECK(res.at("search").at("search_target_reached") == 1);
  CHECK(res.at("search").at("search_qat_epochs").get<double>() > 0);
  CHECK(fs::exists(d / "ccq" / "ccq" / "rounds.csv"));
  const std::string pc = (d / "ccq" / "ccq" / "precision.json").string();
  REQUIRE(fs::exists(pc));
  r = run("info lenet5 --dataset mnist --precision-config '" + pc + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.out, "average weight bits"));
  // The trained model's file records the per-layer precision the search found.
  r = run("info '" + (d / "ccq" / "model.lbar").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.out, "W8A8img"));  // the first layer, quantized, reads the 8-bit image codes

  // The same search with a higher target starts from the first one's rounds (--search-from its run), and ends as
  // a search of its own would; a run without such a search, or a method that does not search, is refused.
  const std::string hi = "--val-holdout 16 --method ccq --ccq-warmup-steps 1 --ccq-finetune-steps 2 "
                         "--ccq-target-value 7 --ccq-epsilon 1 ";
  r = run("train " + common + q + hi + "--out '" + (d / "hi").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  r = run("train " + common + q + hi + "--search-from '" + (d / "ccq").string() + "' --out '" + (d / "hi_from").string() +
          "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.all(), "taken from"));
  {
    std::ifstream a(d / "hi" / "ccq" / "precision.json"), b(d / "hi_from" / "ccq" / "precision.json");
    std::stringstream sa, sb;
    sa << a.rdbuf();
    sb << b.rdbuf();
    CHECK(sa.str() == sb.str());
    CHECK_FALSE(sa.str().empty());
  }
  r = run("train " + common + q + hi + "--search-from '" + (d / "fp32").string() + "' --out '" + (d / "e0").string() +
          "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--search-from '" + (d / "fp32").string() + "': no ccq search there"));
  r = run("train " + common + q + "--search-from '" + (d / "ccq").string() + "' --out '" + (d / "e0").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--search-from needs a --method that searches a precision (ccq), got 'none'"));

  r = run("train " + common + q + "--val-holdout 16 --method ccq --ccq-ladder 8,9 --out '" + (d / "e1").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--ccq-ladder must list weight bits 1..8 or t"));
  r = run("train " + common + q + "--val-holdout 16 --method ccq --ccq-target-value 1 --out '" + (d / "e2").string() +
          "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--ccq-target-value must be within the ladder's range [2, 8)"));
  r = run("train " + common + q + "--method ccq --out '" + (d / "e3").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "never the test split"));
  r = run("train " + common + q + "--ccq-top-k 2 --out '" + (d / "e4").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--ccq-top-k needs --method ccq"));
  r = run("train " + common + "--quant lsq --first-last q --init '" + init +
          "' --val-holdout 16 --method ccq --ccq-ladder 8,4,1 --out '" + (d / "e5").string() + "'");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "rung 1 does not fit the run's scheme lsq"));
  fs::remove_all(d);
}
