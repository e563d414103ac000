// `lowbit train --init FILE`: a saved model or a training checkpoint initialises the run, every tensor of the
// model must come from it (only a quantizer's own learned state may start fresh), a file of another model is
// refused naming it, and the file's path and CRC-32 are recorded in results.json and the model's metadata.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nn/archive.h"
#include "../support/cli_runner.h"
#include "../support/tiny_data.h"

namespace fs = std::filesystem;

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  return nlohmann::json::parse(f);
}
}  // namespace

TEST_CASE("cli: train --init takes a model or a checkpoint, refuses another model, records path and CRC") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_init_" + std::to_string(::getpid()));
  fs::remove_all(d);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "train", 64);
  lowbit::test::write_tiny_mnist(d / "data" / "mnist", "t10k", 32);
  const std::string common = "--dataset mnist --epochs 1 --batch 32 --lr 0.05 --threads 1 --no-progress --data-dir '" +
                             (d / "data").string() + "' ";
  const auto run = [&](const std::string& args) { return lowbit::test::run_lowbit("train " + common + args); };
  const auto out = [&](const char* name) { return " --out '" + (d / name).string() + "'"; };

  auto r = run(out("base"));
  REQUIRE_MESSAGE(r.status == 0, r.all());
  r = run("--model resnet8" + out("r8"));
  REQUIRE_MESSAGE(r.status == 0, r.all());

  // A checkpoint: its model tensors are taken (before, none matched and the run silently started from scratch).
  const fs::path ckpt = d / "base" / "checkpoint.lbar";
  r = run("--init '" + ckpt.string() + "'" + out("from_ckpt"));
  REQUIRE_MESSAGE(r.status == 0, r.all());
  const nlohmann::json res = read_json(d / "from_ckpt" / "results.json");
  REQUIRE(res.contains("init"));
  CHECK(res["init"]["path"] == ckpt.string());
  CHECK(res["init"]["crc32"] == fmt::format("{:08x}", lowbit::nn::read_archive(ckpt.string()).crc32));
  CHECK(res["init"]["fresh"].empty());
  CHECK(lowbit::nn::read_archive((d / "from_ckpt" / "model.lbar").string()).meta.at("init") == res["init"]);

  // A saved fp32 model into a quantized LeNet-5: the LSQ steps start fresh (initialised from data), all else loads.
  r = run("--quant lsq --wbits 2 --abits 2 --init '" + (d / "base" / "model.lbar").string() + "'" + out("lsq"));
  REQUIRE_MESSAGE(r.status == 0, r.all());
  const nlohmann::json lsq = read_json(d / "lsq" / "results.json");
  CHECK_FALSE(lsq["init"]["fresh"].empty());
  for (const auto& name : lsq["init"]["fresh"]) {
    const std::string n = name.get<std::string>();
    CHECK((has(n, "step") || has(n, "lsq_ready") || has(n, "input_range")));
  }

  // Another architecture: refused, naming the file and what it holds; nothing written.
  const fs::path r8 = d / "r8" / "model.lbar";
  r = run("--init '" + r8.string() + "'" + out("wrong"));
  CHECK(r.status == 1);
  // (LeNet-5 and ResNet-8 share a few names, conv1 and bn1: the rest is missing.)
  CHECK_MESSAGE(has(r.all(), "lowbit: error: init file '" + r8.string() +
                                 "' (a 'resnet8' model) leaves 17 of this model's tensors unloaded: conv2.weight"),
                r.all());
  CHECK_FALSE(fs::exists(d / "wrong" / "results.json"));
  // A missing file.
  r = run("--init '" + (d / "nope.lbar").string() + "'" + out("missing"));
  CHECK(r.status == 1);
  CHECK(has(r.all(), (d / "nope.lbar").string()));
  fs::remove_all(d);
}
