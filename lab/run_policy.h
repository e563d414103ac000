// The resume policy of a grid run: what to do with one cell × seed, decided only from what its run directory
// holds and what the grid wants there. run_grid (lab/runner.h) asks it for every run and acts on the answer;
// the tables are written elsewhere (lab/grid_report.h).
//
//   directory holds                                                   decision
//   nothing, or files without results.json and without a checkpoint  train   (from scratch, clearing the rest)
//   a checkpoint but no results.json                                  resume  (the Trainer's bit-exact resume)
//   a precision search's saved state (<method>/state.json, CCQ's
//     rounds) but no results.json                                     resume  (the search goes on from its
//                                                                              last finished round)
//   results.json of this configuration, with a test accuracy and
//     exactly the cell's epochs                                       reuse   (its recorded accuracy and time)
//   results.json of this configuration, unfinished (no test accuracy
//     or fewer epochs than the cell asks now)                         resume if a checkpoint is there, else train
//   results.json of another configuration (training recipe other than
//     epochs and threads, precision, method name and settings, teacher
//     CRC-32, training subset), or a
//     results.json that is not JSON                                   refuse  (never mixed into the table)
// A precision search (CCQ: Method::searches) records the precision it found as "quant"; its precision is compared
// through "requested_quant", the one it started from (runs without that record: the precision without per-layer
// overrides).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "quant/quantized_model.h"

namespace lowbit::lab {

// What identifies a run: the fields of its results.json that must match for the run to be reused or resumed.
struct RunIdentity {
  nlohmann::json config;       // nn::TrainConfig::to_json() (threads and epochs are not compared)
  std::optional<quant::QuantSpec> quant;  // empty = fp32; compared with the spec of the run's "quant" record
  // The method as quant/methods/run.h records it, {"name", "settings"} (every setting, defaults included); null for
  // none. Only name and settings are compared: the teacher's path may change (a moved results directory).
  nlohmann::json method;
  // Non-empty: the run's recorded teacher ("teacher": {"weights_crc32"} of a grid run) must have this fingerprint
  // (CRC-32 of the teacher's tensors, lab/runner.h); another teacher → refuse.
  std::string teacher_crc32;
  int64_t train_subset = 0;    // recorded under "train_subset" (absent = 0)
  int epochs = 1;              // the cell's epochs: a run with exactly these many is finished
};

enum class RunAction { train, resume, reuse, refuse };
const char* run_action_name(RunAction a);  // "train", "resume", "reuse", "refuse"

struct RunDecision {
  RunAction action = RunAction::train;
  double test_acc = 0.0;       // reuse: the recorded test accuracy in [0, 1]
  double wall_seconds = 0.0;   // reuse: the recorded wall time
  std::string reason;          // refuse: what is in the way, naming the directory and both configurations
};

RunDecision decide_run(const std::string& run_dir, const RunIdentity& want);

}  // namespace lowbit::lab
