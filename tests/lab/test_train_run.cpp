// lab::run_training, the one training run of `lowbit train` and of every grid cell: an fp32 run builds the plain
// zoo model and records no quantization, a quantized run started from it records its per-layer precision, a run
// directory is not resumed across fp32 / quantized, and a training method is refused until runs can use one.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "lab/train_run.h"
#include "nn/archive.h"
#include "nn/data/dataset.h"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return nlohmann::json::parse(s.str());
}

// 28×28 one-channel images; class k has a bright band at rows 2k..2k+3.
nn::ImageDataset bands(const std::string& name, int n) {
  nn::ImageDataset d;
  d.name = name;
  d.n = n;
  d.c = 1;
  d.h = d.w = 28;
  d.num_classes = 10;
  for (int i = 0; i < n; ++i) {
    const int k = (i * 7) % 10;
    d.labels.push_back(k);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        d.pixels.push_back(static_cast<uint8_t>(y >= 2 * k && y < 2 * k + 4 ? 200 : (x + y + i) % 40));
  }
  d.compute_checksum();
  return d;
}

}  // namespace

TEST_CASE("run_training: fp32 without quantization, a quantized run from it, no resume across the two") {
  const fs::path dir = fs::temp_directory_path() / ("lowbit_test_train_run_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const nn::ImageDataset train = bands("train", 64), test = bands("test", 20);

  lab::TrainRunSpec fp;
  fp.config.model = "lenet5";
  fp.config.dataset = "mnist";
  fp.config.epochs = 1;
  fp.config.batch_size = 32;
  fp.config.threads = 1;
  fp.out_dir = (dir / "fp32").string();
  fp.progress = nn::ProgressMode::quiet;
  fp.train_data = &train;
  fp.test_data = &test;
  const lab::TrainRunResult r = lab::run_training(fp);
  CHECK(r.epochs == 1);
  CHECK(r.test_n == 20);
  CHECK(r.train_n == 64);
  const nlohmann::json fr = read_json(dir / "fp32" / "results.json");
  CHECK(fr.contains("test"));
  CHECK_FALSE(fr.contains("quant"));
  const nlohmann::json fmeta = nn::read_archive((dir / "fp32" / "model.lbar").string()).meta;
  CHECK_FALSE(fmeta.value("extra", nlohmann::json::object()).contains("quant"));

  lab::TrainRunSpec q = fp;
  q.quant = quant::QuantSpec{quant::PrecisionConfig::uniform(quant::Scheme::dorefa, 1, 1)};
  q.init = (dir / "fp32" / "model.lbar").string();
  q.out_dir = (dir / "w1a1").string();
  lab::run_training(q);
  const nlohmann::json qr = read_json(dir / "w1a1" / "results.json");
  REQUIRE(qr.contains("quant"));
  CHECK(qr["quant"]["format"] == 2);
  CHECK(qr["quant"]["precision"]["scheme"] == "dorefa");
  CHECK(qr["quant"]["layers"].size() == 5);  // LeNet-5's weight layers, each with its resolved precision
  CHECK(quant::spec_from_record(qr["quant"], "test") == *q.quant);

  // Resuming the quantized run's directory as an fp32 run, or the fp32 one as quantized, is refused.
  REQUIRE(fs::exists(dir / "w1a1" / "checkpoint.lbar"));
  lab::TrainRunSpec wrong = fp;
  wrong.out_dir = q.out_dir;
  wrong.resume = true;
  CHECK_THROWS_WITH_AS(lab::run_training(wrong), doctest::Contains("built differently (checkpoint quantized, now fp32)"),
                       Error);
  wrong = q;
  wrong.out_dir = fp.out_dir;
  wrong.resume = true;
  CHECK_THROWS_WITH_AS(lab::run_training(wrong), doctest::Contains("built differently"), Error);

  // A training method is checked before anything is written: kd without a teacher is refused.
  lab::TrainRunSpec kd = fp;
  kd.out_dir = (dir / "kd").string();
  kd.method = {{"name", "kd"}};
  CHECK_THROWS_WITH_AS(lab::run_training(kd), doctest::Contains("method 'kd' needs a teacher model file"), Error);
  CHECK_FALSE(fs::exists(dir / "kd"));
  fs::remove_all(dir);
}
