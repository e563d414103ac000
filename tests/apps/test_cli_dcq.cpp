// `lowbit train --method dcq --teacher CKPT --sections SPEC ...`: a DCQ run (phase 1 then a fine-tuning epoch)
// records its method; bad section specs, settings, a missing teacher, a teacher of another architecture or with
// another hidden activation are one clear error each, in flag names.
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

TEST_CASE("cli: train --method dcq trains sections from --teacher, errors name the flags") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_dcq_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 64);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "--dataset mnist --batch 32 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' ";
  // The teacher: the zoo's fp32 model (ReLU); the DoReFa student has clip(0,1), hence "bound".
  Run r = run("train " + common + "--epochs 1 --out '" + (d / "teacher").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  const std::string teacher = (d / "teacher" / "model.lbar").string();
  r = run("train " + common + "--epochs 1 --model resnet8 --out '" + (d / "resnet").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);

  const std::string student = "train " + common + "--quant dorefa --wbits 1 --abits 2 --method dcq ";
  const std::string bound = " --dcq-teacher-activation bound ";
  r = run(student + "--epochs 2 --teacher '" + teacher + "' --sections pool1,pool2 --dcq-phase1-epochs 1 --dcq-loss "
          "huber" + bound + "--out '" + (d / "dcq").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.out);
  std::ifstream f(d / "dcq" / "results.json");
  const nlohmann::json res = nlohmann::json::parse(f);
  CHECK(res.at("method").at("name") == "dcq");
  CHECK(res.at("method").at("settings").at("sections") == "pool1,pool2");
  CHECK(res.at("method").at("settings").at("loss") == "huber");
  CHECK(res.at("method").at("settings").at("phase1_epochs") == 1);
  CHECK(res.at("method").at("settings").at("teacher_activation") == "bound");
  CHECK(res.at("epochs").size() == 2);

  auto fails = [&](const std::string& args, const std::string& expected) {
    CAPTURE(args);
    const Run e = run(student + "--epochs 1 " + args + " --out '" + (d / "err").string() + "'");
    CHECK(e.status != 0);
    CHECK_MESSAGE(has(e.out, expected), e.out);
  };
  fails("--teacher '" + teacher + "' --sections pool2,pool9" + bound,
        "--sections 'pool2,pool9': sections: 'pool9' is not a top-level module of model 'LeNet5'");
  fails("--teacher '" + teacher + "' --sections pool2,pool1" + bound, "boundary 'pool1' comes before 'pool2'");
  fails("--teacher '" + teacher + "' --sections fc3" + bound, "empty last section");
  fails("--teacher '" + teacher + "' --dcq-loss l3" + bound, "--dcq-loss must be one of mse, l1, huber, got 'l3'");
  fails("--teacher '" + teacher + "' --dcq-phase1-epochs -2" + bound, "--dcq-phase1-epochs must be >= 0");
  fails(bound, "method 'dcq' needs a teacher model file");
  fails("--teacher '" + (d / "none.lbar").string() + "'" + bound, "none.lbar' does not exist (method 'dcq')");
  fails("--teacher '" + (d / "resnet" / "model.lbar").string() + "'" + bound,
        "is a 'resnet8', but method 'dcq' needs a teacher of the student's architecture 'lenet5'");
  fails("--teacher '" + teacher + "'",
        "the teacher's activation 'act1' is ReLU, the student's is Clip [0, 1]");
  const Run e = run("train " + common + "--epochs 1 --sections pool2 --out '" + (d / "err2").string() + "'");
  CHECK(e.status != 0);
  CHECK(has(e.out, "--sections needs --method dcq"));
  fs::remove_all(d);
}
