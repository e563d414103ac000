// `lowbit train --method br --teacher CKPT --br-...`: a block-replacement run from an fp32 teacher records its
// method and teacher; a bad flag value, a missing or foreign teacher, an unquantized student and a student of
// another quantizer than --br-base are one clear error each.
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
struct Run {
  int status = -1;
  std::string out;  // stdout + stderr
};

Run run(const std::string& args) {
  const lowbit::test::CliRun c = lowbit::test::run_lowbit(args);
  return {c.status, c.all()};
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("cli: train --method br trains from --teacher and records it, flag and teacher errors are clear") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_br_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 64);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "--dataset mnist --batch 32 --epochs 1 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' ";
  Run r = run("train " + common + "--out '" + (d / "teacher").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const std::string teacher = (d / "teacher" / "model.lbar").string();
  auto out = [&](const std::string& name) { return "--out '" + (d / name).string() + "' "; };
  const std::string lsq = "--quant lsq --wbits 4 --abits 4 --init '" + teacher + "' ";

  r = run("train " + common + lsq + "--method br --teacher '" + teacher +
          "' --br-lambda 0.5,1 --br-replacement single --br-kd-alpha 0.5 " + out("br"));
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::ifstream f(d / "br" / "results.json");
  const nlohmann::json res = nlohmann::json::parse(f);
  CHECK(res.at("method").at("name") == "br");
  CHECK(res.at("method").at("settings") == nlohmann::json{{"lambda", {0.5, 1.0}}, {"mixed", "all"},
                                                          {"replacement", "single"}, {"blocks", "stages"},
                                                          {"base", "lsq"}, {"kd_alpha", 0.5},
                                                          {"kd_temperature", 4.0}});
  CHECK(res.at("method").at("teacher").at("path") == teacher);

  r = run("train " + common + "--br-lambda 0.5 " + out("e1"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "--br-lambda needs --method br"));
  r = run("train " + common + lsq + "--method br " + out("e2"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "method 'br' needs a teacher model file"));
  r = run("train " + common + lsq + "--method br --teacher '" + (d / "none.lbar").string() + "' " + out("e3"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "none.lbar' does not exist"));
  r = run("train " + common + lsq + "--method br --teacher '" + teacher + "' --br-kd-alpha 2 " + out("e4"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "--br-kd-alpha must be in [0, 1], got 2"));
  r = run("train " + common + "--method br --teacher '" + teacher + "' " + out("e5"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "br: the student has no quantized layer"));
  r = run("train " + common + "--quant dorefa --wbits 2 --abits 2 --method br --teacher '" + teacher + "' " +
          out("e6"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "--br-base is \"lsq\", but the student's layer 'conv2' is quantized with dorefa W2A2"));
  r = run("train " + common + lsq + "--method br --teacher '" + teacher + "' --br-mixed 3 " + out("e7"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "--br-mixed lists k = 3, out of range"));
  r = run("train " + common + "--model resnet8 --quant lsq --method br --teacher '" + teacher + "' " + out("e8"));
  CHECK(r.status != 0);
  CHECK(has(r.out, "is a 'lenet5', but method 'br' needs a teacher of the student's architecture 'resnet8'"));
  fs::remove_all(d);
}
