// The optimizers' conventional weight decay when --weight-decay is not given (SGD 5e-4, Adam 0, AdamW 0.01),
// the value given when it is, and --help saying so (and that the schedule is applied per step).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;

TEST_CASE("cli: each optimizer gets its conventional weight decay unless --weight-decay is given") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_defaults_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 32);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 16);
  struct Case {
    const char* flags;
    double weight_decay;
  };
  int i = 0;
  for (const Case& c : {Case{"--optimizer sgd", 5e-4}, Case{"--optimizer adam --lr 0.001", 0.0},
                        Case{"--optimizer adamw --lr 0.001", 0.01}, Case{"--optimizer adam --weight-decay 1e-3", 1e-3}}) {
    const fs::path out = d / ("run" + std::to_string(i++));
    const auto r = lowbit::test::run_lowbit(std::string("train --dataset mnist --epochs 1 --batch 16 --threads 1 "
                                                        "--no-progress ") +
                                            c.flags + " --data-dir '" + (d / "data").string() + "' --out '" +
                                            out.string() + "'");
    REQUIRE_MESSAGE(r.status == 0, r.all());
    std::ifstream f(out / "results.json");
    const double wd = nlohmann::json::parse(f).at("config").at("weight_decay").get<double>();
    CHECK_MESSAGE(std::fabs(wd - c.weight_decay) <= 1e-9, c.flags, ": weight_decay ", wd);
  }
  const auto help = lowbit::test::run_lowbit("train --help");
  CHECK(help.out.find("0 for adam") != std::string::npos);
  CHECK(help.out.find("per step") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("cli: OpenMP waits passively unless the user chose a policy") {
  using lowbit::test::run_lowbit;
  auto r = run_lowbit("--version", "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u LOWBIT_OMP_WAIT");
  REQUIRE(r.status == 0);
  CHECK(r.out.find("openmp wait: OMP_WAIT_POLICY=passive (lowbit's default)") != std::string::npos);
  r = run_lowbit("--version", "env -u GOMP_SPINCOUNT -u LOWBIT_OMP_WAIT OMP_WAIT_POLICY=active");
  CHECK(r.out.find("openmp wait: OMP_WAIT_POLICY=active (from the environment)") != std::string::npos);
  r = run_lowbit("--version", "env -u OMP_WAIT_POLICY -u LOWBIT_OMP_WAIT GOMP_SPINCOUNT=10000");
  CHECK(r.out.find("openmp wait: GOMP_SPINCOUNT=10000 (from the environment)") != std::string::npos);
  r = run_lowbit("--version", "env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT LOWBIT_OMP_WAIT=keep");
  CHECK(r.out.find("openmp wait: libgomp's default (spinning)") != std::string::npos);
}
