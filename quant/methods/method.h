// Training methods: what a run does beyond plain (quantization-aware) training with cross-entropy, such as
// distilling from a frozen teacher. A method is a small object with
//   prepare(student, teacher)  checks the pair and sets itself up, once, before training
//   student_taps/teacher_taps  module names whose outputs its loss reads (nn/taps.h)
//   train_forward(...)         optional: replaces the student's own forward on a training batch (DCQ phase 1
//                              runs its sections on the teacher's activations); undefined = the usual forward
//   loss(step)                 the loss of one batch; it REPLACES cross-entropy (call nn cross_entropy to keep it)
//   after_step(global_step)    after every optimizer step; before_epoch / after_epoch at epoch boundaries
//   to_json / from_json        its settings, recorded in every checkpoint and model file; a resume rebuilds it
//   state / load_state         what evolves during training (a bit-width search), saved in each checkpoint
//   searches / search          a method that searches a configuration BEFORE the ordinary training (CCQ's
//                              rounds of candidate warm-ups and fine-tunes): lab::run_training calls search()
//                              once the data is ready, then trains (the final fine-tune) the model it returns
//   attach_run                 the run's output directory and recorded model metadata (files a method writes)
//   finish_model_meta          amends model.lbar's metadata (a search that changed the layers' bits records them)
// and a row in the table of methods (registry.cpp): name, summary, whether it needs a teacher, whether the
// teacher must be the student's architecture, and the factory that builds it from its settings.
// quant/methods/run.h loads the teacher and wires a method into nn::Trainer.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/var.h"
#include "nn/module.h"
#include "nn/train/trainer.h"
#include "quant/quantized_model.h"

namespace lowbit::quant {

// What a search method gets from the run (lab::run_training): the recipe, the model, the run's quantization (the
// search's starting point), the fp32 model to start from, the training images and the validation images (a
// hold-out of the training set), and a directory of its own for its state, so a resumed run continues the search.
struct SearchContext {
  nn::TrainConfig config;
  std::string model;
  nn::ModelOptions options;
  QuantSpec quant;
  std::string init;  // the run's init model ("" = none)
  const nn::ImageDataset* train = nullptr;
  const nn::ImageDataset* val = nullptr;
  bool val_is_holdout = false;  // val is a hold-out of the training set (never the test split)
  std::string dir;              // the search's own directory (created by the search)
  bool resume = false;          // continue the search recorded in dir; false = start afresh
  // Other searches' directories this search may start from when it has no state of its own (CCQ: the same search
  // with another target, quant/methods/ccq.h CCQ_SHARED_ROUNDS); the method checks each and skips what does not fit.
  std::vector<std::string> donors;
  std::function<void(const std::string& line)> log;
};
// What a search returns: the quantization and the weights the final training starts from, the search's wall
// time (over all its resumed parts) and numbers for results.json "metrics".
struct SearchResult {
  QuantSpec quant;
  std::string init;
  double seconds = 0.0;
  nlohmann::json metrics = nlohmann::json::object();
};

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
  // Replaces the student's forward on a training batch (nn::TrainHooks::forward): the returned Var stands in for
  // the logits. The default, an undefined Var, keeps the student's own forward.
  virtual Var train_forward(const nn::Batch& /*batch*/, const Var& /*teacher_logits*/,
                            const nn::FeatureTaps& /*teacher_taps*/) {
    return Var();
  }
  // Whether the trainer runs the teacher on every batch (its logits and taps in StepInputs). A method that
  // calls the teacher's modules itself (block replacement) returns false and saves that forward.
  virtual bool trainer_runs_teacher() const { return true; }
  virtual Var loss(const nn::StepInputs& step) = 0;
  virtual void after_step(int64_t /*global_step*/) {}
  // At epoch boundaries (a search round, a phase change); epoch is 0-based.
  virtual void before_epoch(int /*epoch*/) {}
  virtual void after_epoch(const nn::EpochMetrics& /*metrics*/) {}
  // The settings (every one, defaults included, so the record says what ran).
  virtual nlohmann::json to_json() const = 0;
  virtual nlohmann::json state() const { return nlohmann::json::object(); }
  virtual void load_state(const nlohmann::json& /*state*/) {}
  // A search method returns true and implements search(); the default is plain training.
  virtual bool searches() const { return false; }
  virtual SearchResult search(const SearchContext& /*context*/);
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
