// Starting a run from saved weights (`--init`): a saved model (model.lbar, save_module) or a training
// checkpoint (checkpoint.lbar, whose model tensors are stored under "model."). Every parameter and buffer of
// the module must receive a value from the file — a file of another model, whose names do not match, would
// otherwise leave the model at its random initialisation without a word — except those the caller says may
// start fresh (a quantizer's learned step, initialised from data on the first batch) or when the caller asks
// for a partial load explicitly. Extra tensors in the file (a quantized model's steps, loaded into an fp32
// model) are ignored. Shapes must match; non-finite values are refused (Module::load_state_dict).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace lowbit::nn {

// What was loaded, recorded in the run's results.json and model metadata as {"path", "crc32", "loaded",
// "fresh"}: the file's own CRC-32 (the archive trailer) identifies it even when the path changes.
struct InitRecord {
  std::string path;
  uint32_t crc32 = 0;
  size_t loaded = 0;               // entries of the module's state dict taken from the file
  std::vector<std::string> fresh;  // entries left at their initial value (allowed ones, or a partial load)
  nlohmann::json to_json() const;
};

struct InitOptions {
  // Names of state entries that may keep their initial value when the file lacks them.
  std::function<bool(const std::string& name)> may_start_fresh;
  bool partial = false;  // allow any entry to be missing (still at least one must load)
};

// Throws naming the file: unreadable or corrupt; no tensor of the module in it; entries left unloaded (the
// first few named, with the count); shapes that differ; non-finite values.
InitRecord load_init(const std::string& path, Module& module, const InitOptions& options = {});

}  // namespace lowbit::nn
