// The lowbit CLI, run as a child process: --version, --help, `info`, a tiny end-to-end train/eval/resume on
// a synthetic data directory, and every failure path (bad flags, missing data, corrupt or mismatched
// checkpoints, a bad LOWBIT_ISA) ending with one clear message and a non-zero exit status, never a signal.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/error.h"
#include "nn/archive.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;

namespace {
using lowbit::test::CliRun;
CliRun run(const std::string& args, const std::string& env = "") { return lowbit::test::run_lowbit(args, env); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

fs::path fresh_dir(const std::string& tag) {
  fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

using lowbit::test::write_tiny_mnist;
}  // namespace

TEST_CASE("cli: --version names version, revision, compiler and ISA") {
  const CliRun r = run("--version");
  CHECK(r.status == 0);
  CHECK(has(r.all(), "lowbit 0."));
  CHECK(has(r.all(), "git revision: "));
  CHECK(has(r.all(), "compiler: "));
  CHECK(has(r.all(), "isa: "));
}

TEST_CASE("cli: --help works on every subcommand") {
  for (const char* sub : {"", "train ", "eval ", "info "}) {
    const CliRun r = run(std::string(sub) + "--help");
    CAPTURE(sub);
    CHECK(r.status == 0);
    CHECK(has(r.all(), "Usage"));
  }
  CHECK(has(run("train --help").all(), "--resume"));
  CHECK(has(run("eval --help").all(), "--checkpoint"));
}

TEST_CASE("cli: info prints a model summary by name") {
  const CliRun r = run("info lenet5");
  CHECK(r.status == 0);
  CHECK(has(r.all(), "model: lenet5"));
  CHECK(has(r.all(), "conv1"));
  CHECK(has(r.all(), "fc3"));
  const CliRun bad = run("info no_such_model");
  CHECK(bad.status != 0);
  CHECK(has(bad.all(), "'no_such_model' is neither a file nor a model name"));
}

TEST_CASE("cli: bad flags and values exit non-zero with one message") {
  CliRun r = run("train --bogus-flag");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--bogus-flag"));
  r = run("train --optimizer rmsprop");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "rmsprop"));
  r = run("train --epochs 0");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--epochs"));
  r = run("train --model nosuchnet --epochs 1 --data-dir /nonexistent");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "unknown model 'nosuchnet'"));
  r = run("eval");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "--checkpoint"));
  r = run("info lenet5", "LOWBIT_ISA=bogus");
  CHECK(r.status != 0);
  CHECK(has(r.all(), "LOWBIT_ISA"));
}

TEST_CASE("cli: every usage error is one 'lowbit: error:' line and exit status 2, numbers get a plain message") {
  const auto one_line = [](const CliRun& r) {
    return r.all().rfind("lowbit: error: ", 0) == 0 && r.all().find('\n') == r.all().size() - 1;
  };
  struct Case {
    const char* args;
    const char* says;
  };
  for (const Case& c : {Case{"train --bogus-flag", "The following argument was not expected: --bogus-flag"},
                        Case{"train --epochs abc", "--epochs: 'abc' is not a whole number (see lowbit train --help)"},
                        Case{"train --epochs 1.5", "--epochs: '1.5' is not a whole number"},
                        Case{"train --lr fast", "--lr: 'fast' is not a number"},
                        Case{"train --dataset nope", "--dataset: nope not in"},
                        Case{"train --epochs", "--epochs"},
                        Case{"eval", "--checkpoint is required (see lowbit eval --help)"},
                        Case{"nosuchcommand", "nosuchcommand"}}) {
    const CliRun r = run(c.args);
    CHECK_MESSAGE(r.status == 2, c.args, " -> ", r.all());
    CHECK_MESSAGE(one_line(r), c.args, " -> ", r.all());
    CHECK_MESSAGE(has(r.all(), c.says), c.args, " -> ", r.all());
  }
  // A value that parses but is not finite is a training-config error, in flags, without a 309-digit number.
  const CliRun inf = run("train --lr inf --data-dir /nonexistent");
  CHECK(inf.status == 1);
  CHECK(has(inf.all(), "lowbit: error: --lr must be a finite number > 0 (got inf)"));
  const CliRun big = run("train --lr 1e999 --data-dir /nonexistent");
  CHECK(big.status != 0);
  CHECK(big.all().size() < 200);
  CHECK(run("train --help").status == 0);
}

TEST_CASE("cli: a missing data set lists the expected files and the setup command") {
  const fs::path d = fresh_dir("nodata");
  const CliRun r = run("train --dataset mnist --epochs 1 --data-dir '" + (d / "empty").string() + "' --out '" +
                    (d / "out").string() + "'");
  CHECK(r.status == 1);
  CHECK(has(r.all(), "lowbit: error: data set 'mnist' (train split): missing files"));
  CHECK(has(r.all(), (d / "empty" / "mnist" / "train-images-idx3-ubyte").string()));
  CHECK(has(r.all(), "bash scripts/setup.sh"));
  CHECK_FALSE(fs::exists(d / "out"));  // a failed start leaves no output directory
  fs::remove_all(d);
}

TEST_CASE("cli: corrupt and mismatched checkpoints are refused clearly") {
  const fs::path d = fresh_dir("ckpt");
  const fs::path junk = d / "junk.lbar";
  std::ofstream(junk, std::ios::binary) << "this is not an archive at all, just some bytes";
  CliRun r = run("eval --checkpoint '" + junk.string() + "' --dataset mnist");
  CHECK(r.status == 1);
  CHECK(has(r.all(), "lowbit: error:"));
  CHECK(has(r.all(), junk.string()));
  r = run("info '" + junk.string() + "'");
  CHECK(r.status == 1);
  CHECK(has(r.all(), junk.string()));

  // A LeNet-5 for 1×28×28 inputs evaluated on CIFAR-10.
  lowbit::nn::ModelOptions mo;
  auto m = lowbit::nn::make_model("lenet5", mo);
  const fs::path good = d / "lenet.lbar";
  lowbit::nn::save_module(good.string(), *m,
                          {{"model", "lenet5"}, {"model_options", lowbit::nn::model_options_to_json(mo)}});
  r = run("eval --checkpoint '" + good.string() + "' --dataset cifar10");
  CHECK(r.status == 1);
  CHECK(has(r.all(), "holds a lenet5 for 1x28x28 images"));
  r = run("info '" + good.string() + "'");
  CHECK(r.status == 0);
  CHECK(has(r.all(), "model: lenet5"));

  // Truncate the good file: CRC / size checks must catch it.
  const auto size = fs::file_size(good);
  fs::resize_file(good, size / 2);
  r = run("eval --checkpoint '" + good.string() + "' --dataset mnist");
  CHECK(r.status == 1);
  CHECK(has(r.all(), good.string()));
  fs::remove_all(d);
}

TEST_CASE("cli: tiny end-to-end train, eval, refusal to overwrite, resume") {
  const fs::path d = fresh_dir("e2e");
  write_tiny_mnist(d / "data" / "mnist", "train", 96);
  write_tiny_mnist(d / "data" / "mnist", "t10k", 48);
  const std::string common = "--dataset mnist --batch 32 --lr 0.05 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' --out '" + (d / "run").string() + "'";
  CliRun r = run("train --epochs 1 " + common);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.all(), "test accuracy: "));
  CHECK(has(r.all(), "epoch 1/1"));
  for (const char* f : {"checkpoint.lbar", "model.lbar", "metrics.csv", "results.json"}) CHECK(fs::exists(d / "run" / f));

  r = run("train --epochs 1 " + common);
  CHECK(r.status == 1);
  CHECK(has(r.all(), "already holds a run"));

  r = run("train --epochs 2 --resume " + common);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.all(), "epoch 2/2"));
  CHECK_FALSE(has(r.all(), "epoch 1/2 |"));  // epoch 1 came from the checkpoint

  r = run("train --epochs 2 --resume --model resnet8 " + common);
  CHECK(r.status == 1);
  CHECK(has(r.all(), "is of model 'lenet5', this run trains 'resnet8'"));

  r = run("eval --checkpoint '" + (d / "run" / "model.lbar").string() + "' --data-dir '" + (d / "data").string() + "'");
  CHECK(r.status == 0);
  CHECK(has(r.all(), "lenet5 on mnist/test: accuracy"));
  r = run("eval --checkpoint '" + (d / "run" / "checkpoint.lbar").string() + "' --data-dir '" + (d / "data").string() + "'");
  CHECK(r.status == 0);
  fs::remove_all(d);
}

namespace {
// "…accuracy: 86.13%…" or "…accuracy 86.13%…" -> "86.13"
std::string accuracy_text(const std::string& out) {
  const size_t p = out.find("accuracy");
  if (p == std::string::npos) return "";
  size_t b = out.find_first_of("0123456789", p);
  size_t e = out.find('%', b);
  return b == std::string::npos || e == std::string::npos ? "" : out.substr(b, e - b);
}
}  // namespace

TEST_CASE("cli: quantized training is recorded, eval and info rebuild the quantized model, resume checks it") {
  const fs::path d = fresh_dir("quant");
  write_tiny_mnist(d / "data" / "mnist", "train", 96);
  write_tiny_mnist(d / "data" / "mnist", "t10k", 48);
  const std::string data = "--data-dir '" + (d / "data").string() + "'";
  const std::string common = "--dataset mnist --batch 32 --lr 0.05 --threads 1 --no-progress " + data +
                             " --out '" + (d / "run").string() + "'";
  CliRun r = run("train --epochs 1 --quant dorefa --wbits 2 --abits 2 " + common);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  const std::string trained = accuracy_text(r.all());
  REQUIRE_FALSE(trained.empty());
  {
    std::ifstream results(d / "run" / "results.json");
    const std::string text((std::istreambuf_iterator<char>(results)), std::istreambuf_iterator<char>());
    CHECK(has(text, "\"quant\""));  // the results file says how the model was quantized
    CHECK(has(text, "\"dorefa\""));
  }

  const std::string model = (d / "run" / "model.lbar").string();
  // eval must rebuild the DoReFa W2A2 model (not an fp32 LeNet-5 with the same weights): same number as training.
  r = run("eval --checkpoint '" + model + "' " + data);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(accuracy_text(r.all()) == trained);

  r = run("info '" + model + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.all(), "quantization: "));
  CHECK(has(r.all(), "dorefa W2A2"));
  CHECK(has(r.all(), "compression rate"));

  r = run("train --epochs 2 --resume --quant bnn " + common);
  CHECK(r.status == 1);
  CHECK(has(r.all(), "the model was built differently"));

  r = run("train --epochs 1 --quant nonsense --force " + common);
  CHECK(r.status != 0);
  CHECK(r.status != -1);
  CHECK(has(r.all(), "nonsense"));

  // Without quant's builder, a quantized file is refused rather than rebuilt as the fp32 model.
  CHECK_THROWS_WITH_AS(lowbit::nn::load_trained_model(model), doctest::Contains("records how its layers were built"),
                       lowbit::Error);
  fs::remove_all(d);
}

TEST_CASE("cli: a quantized model's files record resolved bits, never a sentinel, and info prints them per layer") {
  const fs::path d = fresh_dir("resolved");
  write_tiny_mnist(d / "data" / "mnist", "train", 64);
  write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string data = "--data-dir '" + (d / "data").string() + "'";
  // --quant without bits: the scheme's defaults (DoReFa W1A2) are resolved when the flags are read.
  CliRun r = run("train --epochs 1 --quant dorefa --dataset mnist --batch 32 --threads 1 --no-progress " + data +
                 " --out '" + (d / "run").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  for (const char* f : {"model.lbar", "checkpoint.lbar"}) {
    CAPTURE(f);
    const nlohmann::json meta = lowbit::nn::read_archive((d / "run" / f).string()).meta;
    REQUIRE(meta.contains("extra"));
    const nlohmann::json& q = meta["extra"]["quant"];
    const std::string text = q.dump();
    CHECK_FALSE(has(text, "-1"));
    CHECK(q["precision"]["wbits"] == 1);
    CHECK(q["precision"]["abits"] == 2);
    REQUIRE(q["layers"].size() == 5);
    CHECK(q["layers"][1] == nlohmann::json{{"name", "conv2"}, {"scheme", "dorefa"}, {"wbits", 1}, {"abits", 2},
                                           {"image_input", false}});
    CHECK(q["layers"][0]["scheme"] == "fp32");
    CHECK(meta["model_options"]["activation"] == "clip01");  // the activation the model was built with
  }
  {
    std::ifstream results(d / "run" / "results.json");
    const nlohmann::json j = nlohmann::json::parse(results);
    CHECK(j["quant"]["layers"].size() == 5);
    CHECK_FALSE(has(j["quant"].dump(), "-1"));
  }
  r = run("info '" + (d / "run" / "model.lbar").string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK(has(r.out, "per-layer precision (as recorded)"));
  CHECK(has(r.out, "conv2                    dorefa W1A2"));
  // Resuming with the same flags continues the recorded model.
  r = run("train --epochs 2 --resume --quant dorefa --dataset mnist --batch 32 --threads 1 --no-progress " + data +
          " --out '" + (d / "run").string() + "'");
  CHECK_MESSAGE(r.status == 0, r.all());
  // Flags name themselves in errors.
  r = run("train --quant xnor --wbits 2 " + data);
  CHECK(r.status == 1);
  CHECK(has(r.err, "--quant xnor --wbits 2"));
  r = run("train --wbits 2 " + data);
  CHECK(r.status == 1);
  CHECK(has(r.err, "need --quant"));
  r = run("train --lr 0 " + data);
  CHECK(r.status == 1);
  CHECK(has(r.err, "lowbit: error: --lr must be a finite number > 0"));
  fs::remove_all(d);
}
