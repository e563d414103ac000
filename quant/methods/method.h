// Training methods: what a run does beyond plain (quantization-aware) training with cross-entropy, such as
// distilling from a frozen teacher. A method is a small object with
//   prepare(student, teacher)  checks the pair and sets itself up, once, before training
//   student_taps/teacher_taps  module names whose outputs its loss reads (nn/taps.h)
//   loss(step)                 the loss of one batch; it REPLACES cross-entropy (call nn cross_entropy to keep it)
//   after_step(global_step)    after every optimizer step; before_epoch / after_epoch at epoch boundaries
//   to_json / from_json        its settings, recorded in every checkpoint and model file; a resume rebuilds it
//   state / load_state         what evolves during training (a bit-width search), saved in each checkpoint
//   attach_run                 the run's output directory and recorded model metadata (files a method writes)
//   finish_model_meta          amends model.lbar's metadata (a search that changed the layers' bits records them)
// and a row in the table of methods (registry.cpp): name, summary, whether it needs a teacher, whether the
// teacher must be the student's architecture, and the factory that builds it from its settings.
// quant/methods/run.h loads the teacher and wires a method into nn::Trainer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/var.h"
#include "nn/module.h"
#include "nn/train/trainer.h"

namespace lowbit::quant {

// What a method learns of the run it is attached to (quant/methods/run.h attach_method).
struct MethodRun {
  std::string out_dir;  // "" = the run writes no files
  nlohmann::json extra_meta = nlohmann::json::object();  // how the model was built ({"quant": record}, or empty)
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  // teacher is null for a method that takes none. Throws lowbit::Error for a pair it cannot train.
  virtual void prepare(nn::Module& student, nn::Module* teacher) = 0;
  virtual std::vector<std::string> student_taps() const { return {}; }
  virtual std::vector<std::string> teacher_taps() const { return {}; }
  virtual Var loss(const nn::StepInputs& step) = 0;
  virtual void after_step(int64_t /*global_step*/) {}
  // At epoch boundaries (a search round, a phase change); epoch is 0-based.
  virtual void before_epoch(int /*epoch*/) {}
  virtual void after_epoch(const nn::EpochMetrics& /*metrics*/) {}
  // The settings (every one, defaults included, so the record says what ran).
  virtual nlohmann::json to_json() const = 0;
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void load_state(const nlohmann::json& /*state*/) {}
  virtual void attach_run(const MethodRun& /*run*/) {}
  // Called with model.lbar's metadata just before the final model is written.
  virtual void finish_model_meta(nlohmann::json& /*meta*/) {}
};

// One row per method. from_json validates the settings and throws naming the field ("kd.temperature must be
// > 0, got -1"); an empty object gives the defaults.
struct MethodRow {
  const char* name;
  const char* summary;
  bool needs_teacher;
  bool same_architecture;  // the teacher must be the student's model (same name, input shape and classes)
  std::unique_ptr<Method> (*from_json)(const nlohmann::json& settings);
};

const std::vector<MethodRow>& method_table();
// Throws listing the known names.
const MethodRow& method_row(const std::string& name);
std::unique_ptr<Method> make_method(const std::string& name, const nlohmann::json& settings);

}  // namespace lowbit::quant
