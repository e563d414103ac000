// The resume policy of a grid run (lab/run_policy.h) alone, on hand-made run directories: empty → train,
// checkpoint only → resume, finished run of this configuration → reuse with its numbers, unfinished or shorter
// → resume or train, another recipe / precision / method / subset or a corrupt results.json → refuse naming
// the directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "lab/run_policy.h"
#include "nn/train/config.h"

using namespace lowbit::lab;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

RunIdentity identity() {
  lowbit::nn::TrainConfig cfg;
  cfg.epochs = 2;
  cfg.seed = 3;
  RunIdentity id;
  id.config = cfg.to_json();
  id.quant = lowbit::quant::QuantSpec{lowbit::quant::PrecisionConfig::uniform(lowbit::quant::Scheme::dorefa, 1, 2)};
  id.train_subset = 100;
  id.epochs = 2;
  return id;
}

// The results.json a run of `id` writes after `epochs` epochs (finished: with the test accuracy).
json results(const RunIdentity& id, int epochs, bool finished) {
  json r = {{"config", id.config}, {"train_subset", id.train_subset}, {"epochs", json::array()}};
  if (id.quant) {
    r["quant"] = id.quant->to_json();  // the record run_training writes (plus the per-layer list)
    r["quant"]["format"] = 2;
  }
  for (int e = 0; e < epochs; ++e) r["epochs"].push_back({{"epoch", e + 1}});
  if (!id.method.is_null()) r["method"] = id.method;
  if (finished) {
    r["test"] = {{"acc", 0.875}, {"n", 40}};
    r["wall_seconds"] = 12.5;
  }
  return r;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

}  // namespace

TEST_CASE("run policy: train, resume, reuse and refuse, decided from the run directory alone") {
  const fs::path dir = fs::temp_directory_path() / ("lowbit_test_run_policy_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const RunIdentity id = identity();
  const std::string run = (dir / "run").string();

  // Nothing there (or a directory without results and checkpoint): train from scratch.
  CHECK(decide_run(run, id).action == RunAction::train);
  write(dir / "run" / "metrics.csv", "epoch\n");
  CHECK(decide_run(run, id).action == RunAction::train);
  // A checkpoint without results: continue it.
  write(dir / "run" / "checkpoint.lbar", "x");
  CHECK(decide_run(run, id).action == RunAction::resume);

  // Finished, this configuration: reuse its numbers (threads do not matter).
  write(dir / "run" / "results.json", results(id, 2, true).dump());
  RunIdentity other_threads = id;
  other_threads.config["threads"] = 7;
  for (const RunIdentity& w : {id, other_threads}) {
    const RunDecision d = decide_run(run, w);
    CHECK(d.action == RunAction::reuse);
    CHECK(d.test_acc == 0.875);
    CHECK(d.wall_seconds == 12.5);
  }
  // The grid now asks for more epochs: not finished, continue from the checkpoint (or train without one).
  RunIdentity longer = id;
  longer.epochs = 3;
  longer.config["epochs"] = 3;
  CHECK(decide_run(run, longer).action == RunAction::resume);
  // Interrupted (results of the first epoch, no test accuracy).
  write(dir / "run" / "results.json", results(id, 1, false).dump());
  CHECK(decide_run(run, id).action == RunAction::resume);
  fs::remove(dir / "run" / "checkpoint.lbar");
  CHECK(decide_run(run, id).action == RunAction::train);

  // Another configuration in the directory is refused, naming it.
  write(dir / "run" / "results.json", results(id, 2, true).dump());
  RunIdentity changed = id;
  changed.config["lr"] = 0.01;
  RunDecision d = decide_run(run, changed);
  CHECK(d.action == RunAction::refuse);
  CHECK(d.reason.find("run directory '" + run + "' holds a different run") != std::string::npos);
  changed = id;
  changed.quant.reset();
  CHECK(decide_run(run, changed).action == RunAction::refuse);
  changed = id;
  changed.quant->precision.defaults.abits = 4;
  CHECK(decide_run(run, changed).action == RunAction::refuse);
  changed = id;
  changed.train_subset = 0;
  CHECK(decide_run(run, changed).action == RunAction::refuse);
  changed = id;
  changed.method = {{"name", "kd"}};
  CHECK(decide_run(run, changed).action == RunAction::refuse);
  write(dir / "run" / "results.json", results(changed, 2, true).dump());
  CHECK(decide_run(run, changed).action == RunAction::reuse);
  CHECK(decide_run(run, id).action == RunAction::refuse);

  // A run recorded in the old flag form (quant/quantized_model.h) of the same quantization is the same run.
  json old = results(id, 2, true);
  old["quant"] = {{"scheme", "dorefa"}, {"wbits", 1}, {"abits", 2}, {"first_last", ""}, {"qat_path", "kernel"}, {"config_text", ""}};
  write(dir / "run" / "results.json", old.dump());
  CHECK(decide_run(run, id).action == RunAction::reuse);
  old["quant"] = {{"scheme", "nosuch"}};
  write(dir / "run" / "results.json", old.dump());
  CHECK(decide_run(run, id).action == RunAction::refuse);

  // The trainer records the data set's default augmentation resolved (crop_padding 0, hflip 0 for Fashion-MNIST);
  // the grid's cells and runs of an older lowbit hold −1: the same run either way, and another value is not.
  json resolved = results(id, 2, true);
  resolved["config"]["crop_padding"] = 0;
  resolved["config"]["hflip"] = 0;
  write(dir / "run" / "results.json", resolved.dump());
  REQUIRE(id.config.at("crop_padding") == -1);
  CHECK(decide_run(run, id).action == RunAction::reuse);
  resolved["config"]["hflip"] = 1;
  write(dir / "run" / "results.json", resolved.dump());
  CHECK(decide_run(run, id).action == RunAction::refuse);
  RunIdentity flipped = id;
  flipped.config["hflip"] = 1;
  CHECK(decide_run(run, flipped).action == RunAction::reuse);

  // Not JSON: refused with the file named.
  write(dir / "run" / "results.json", "{\"config\": ");
  d = decide_run(run, id);
  CHECK(d.action == RunAction::refuse);
  CHECK(d.reason.find("results.json' is not valid JSON") != std::string::npos);

  CHECK(std::string(run_action_name(RunAction::reuse)) == "reuse");
  fs::remove_all(dir);
}

TEST_CASE("run policy: a precision search's run is the cell's run although it records the precision it found") {
  const fs::path dir = fs::temp_directory_path() / ("lowbit_test_run_policy_ccq_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string run = (dir / "run").string();
  RunIdentity id = identity();
  id.method = {{"name", "ccq"}, {"settings", {{"target_value", 2.0}}}};
  // What CCQ trains and records as "quant": the cell's precision with the per-layer bits it found.
  lowbit::quant::QuantSpec found = *id.quant;
  lowbit::quant::LayerOverride o;
  o.match = "fc1";
  o.has_wbits = true;
  o.wbits = 4;
  found.precision.overrides.push_back(o);
  json r = results(id, 2, true);
  r["quant"] = found.to_json();
  r["quant"]["format"] = 2;

  SUBCASE("recorded with the precision it started from: compared exactly") {
    r["requested_quant"] = id.quant->to_json();
    r["requested_quant"]["format"] = 2;
    write(dir / "run" / "results.json", r.dump());
    CHECK(decide_run(run, id).action == RunAction::reuse);
    RunIdentity other = id;
    other.quant->precision.defaults.abits = 4;  // the cell now starts from another precision
    CHECK(decide_run(run, other).action == RunAction::refuse);
    r["requested_quant"] = found.to_json();  // a run that started from per-layer bits the cell does not name
    r["requested_quant"]["format"] = 2;
    write(dir / "run" / "results.json", r.dump());
    CHECK(decide_run(run, id).action == RunAction::refuse);
  }
  SUBCASE("an older run without that record: the precision without its per-layer bits") {
    write(dir / "run" / "results.json", r.dump());
    CHECK(decide_run(run, id).action == RunAction::reuse);
    RunIdentity other = id;
    other.quant->precision.defaults.abits = 4;
    CHECK(decide_run(run, other).action == RunAction::refuse);
    other = id;
    other.method["settings"]["target_value"] = 3.0;  // another target is another run
    CHECK(decide_run(run, other).action == RunAction::refuse);
  }
  SUBCASE("an interrupted search (its rounds saved, no results yet) is resumed, not cleared") {
    write(dir / "run" / "ccq" / "rounds.csv", "round\n");
    CHECK(decide_run(run, id).action == RunAction::train);  // no finished round: nothing to continue
    write(dir / "run" / "ccq" / "state.json", "{}");
    CHECK(decide_run(run, id).action == RunAction::resume);
    r.erase("test");  // interrupted in the final fine-tune, before its checkpoint
    write(dir / "run" / "results.json", r.dump());
    CHECK(decide_run(run, id).action == RunAction::resume);
    RunIdentity plain = id;
    plain.method = nullptr;  // a run without a search method does not look for one's state
    fs::remove(dir / "run" / "results.json");
    CHECK(decide_run(run, plain).action == RunAction::train);
  }
  SUBCASE("a method that does not search keeps the exact comparison") {
    id.method = {{"name", "kd"}};
    r["method"] = id.method;
    write(dir / "run" / "results.json", r.dump());
    CHECK(decide_run(run, id).action == RunAction::refuse);
  }
  fs::remove_all(dir);
}
