// One training run, fp32 or quantization-aware: what `lowbit train` does and what every cell × seed of a
// `lowbit reproduce` grid does, so both go through one code path:
//   build the model — fp32: the plain zoo model (nn::make_model) and the init model's weights, without quant;
//   quantized: quant::build_run_model (quantized layers as the spec says, the init model loaded; on resume the
//   layers the checkpoint records)
//   → optionally keep only the first N training images → optional hold-out split → nn::Trainer, with the QAT hooks
//   when quantized (quant/training.h: BNN clamp + re-pack after each step, PACT's α penalty in the loss), and the
//   training method's (quant/methods/run.h: teacher loaded and checked, its loss, recorded under "method")
//   → test accuracy on the official test split, recorded in <out>/results.json under "test" with the run's
//   wall time ("wall_seconds": the sum of its epochs plus the final test pass, so a resumed run counts the
//   epochs done before the interruption too).
// A search method (Method::searches(), e.g. CCQ) runs its search in <out>/<method>/ once the data is ready (on the
// training images, validating on the hold-out) and returns a quantization and weights; the run then trains that
// model (its epochs are the final fine-tune), and wall_seconds includes the search ("search" in results.json).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/data/dataset.h"
#include "nn/train/config.h"
#include "nn/train/progress.h"
#include "quant/quantized_model.h"
#include "quant/methods/run.h"

namespace lowbit::lab {

struct TrainRunSpec {
  nn::TrainConfig config;
  std::optional<quant::QuantSpec> quant;  // empty = fp32: the plain zoo model, no quant code involved
  std::string init;                // a saved model or checkpoint to start from ("" = random init)
  // A training method, {"name": ..., "teacher": FILE, <settings>...} as a grid cell or `lowbit train --method`
  // gives it (quant/methods); null = plain training.
  nlohmann::json method;
  std::string out_dir;         // required: checkpoints, model.lbar, metrics.csv, results.json
  std::string data_dir;        // "" = nn::default_data_dir()
  bool resume = false, force = false;
  // A searching method's possible head starts (quant::SearchContext::donors): other runs' search directories.
  std::vector<std::string> search_donors;
  nn::ProgressMode progress = nn::ProgressMode::lines;
  int64_t log_every = 100;
  int64_t train_subset = 0;    // > 0: train on the first N images of the training split (before any hold-out)
  nlohmann::json extra_results = nlohmann::json::object();  // added to results.json (e.g. the grid cell)
  // Data sets already in memory (a grid loads each data set once); null = load from data_dir.
  const nn::ImageDataset* train_data = nullptr;
  const nn::ImageDataset* test_data = nullptr;
  // Called once the model is built and the data is ready, just before training (the CLI prints a line).
  std::function<void(const std::string& what)> on_start;
};

struct TrainRunResult {
  double test_acc = 0.0, test_loss = 0.0;  // acc in [0, 1]
  int64_t test_n = 0, train_n = 0;
  int epochs = 0;             // epochs the model has been trained in total (resumed ones included)
  double wall_seconds = 0.0;  // see the header comment
  uint32_t train_crc = 0, test_crc = 0;  // CRC-32 of the images actually trained on / tested on
};

// Throws lowbit::Error for a bad config, model, missing data, or a run directory that holds
// another run (unless resume/force).
TrainRunResult run_training(const TrainRunSpec& spec);

}  // namespace lowbit::lab
