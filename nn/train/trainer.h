// Trainer: the epoch loop. Each epoch trains over a DataLoader, validates, appends a row to metrics.csv,
// rewrites results.json and writes an atomic checkpoint; a resumed run continues bit-exactly (same seed and
// thread count): the checkpoint holds model parameters and buffers, optimizer state, the dropout RNG
// streams and the completed-epoch count, and batch order/augmentation depend only on (seed, epoch).
//
// Output directory (TrainerOptions::out_dir, may be empty for no files):
//   checkpoint.lbar  model.* and optim.* tensors; meta {kind, model, model_options, epoch, config, rng, history}
//   model.lbar       final weights (nn::save_module format: loadable by `lowbit eval` and `lowbit info`)
//   metrics.csv      epoch,lr,train_loss,train_acc,val_loss,val_acc,seconds
//   results.json     build info, config, data set checksums, what validation means, per-epoch metrics
// Every file is written atomically; a directory that already holds a different run is refused unless the
// run is resumed or forced, so no finished output is overwritten by a failing run.
//
// Hooks let quant/ methods extend the loop without forking it: a loss that replaces cross-entropy (and sees the
// model's feature taps and a frozen teacher's logits and taps), extra loss terms, code after every optimizer
// step (weight clamping, re-packing) and at epoch boundaries, and method state that a resume restores. A
// training step with a teacher:
//   teacher.eval(), frozen; under no-grad: teacher_logits = teacher(x)   (teacher taps capture, TapMode::always)
//   logits = hooks.forward ? hooks.forward(...) : undefined; if undefined: logits = model(x)   (model taps capture,
//                                                                        training mode only)
//   loss = hooks.loss ? hooks.loss(StepInputs) : cross_entropy(logits, labels); + hooks.extra_loss
//   backward, optimizer step, hooks.after_step; the captured values are dropped.
// Evaluation runs the model in eval mode, where its (training-mode) taps do not fire.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optim.h"
#include "nn/data/dataset.h"
#include "nn/data/loader.h"
#include "nn/module.h"
#include "nn/taps.h"
#include "nn/train/config.h"
#include "nn/train/progress.h"
#include "nn/zoo/zoo.h"

namespace lowbit::nn {

struct EpochMetrics {
  int epoch = 0;  // 1-based
  double lr = 0;  // at the start of the epoch
  double train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0;
  double seconds = 0;
  nlohmann::json to_json() const;
  static EpochMetrics from_json(const nlohmann::json& j);
};

struct EvalResult {
  double loss = 0, acc = 0;
  int64_t n = 0;
};

// What a loss hook sees of one training step.
struct StepInputs {
  const Batch& batch;
  const Var& logits;                // the model's output for the batch (with its graph)
  const FeatureTaps& taps;          // the model's taps (TrainerOptions::taps), captured in this forward
  const Var& teacher_logits;        // the teacher's output (no graph); undefined without a teacher
  const FeatureTaps& teacher_taps;  // the teacher's taps (TrainerOptions::teacher_taps), no graph
  float label_smoothing;            // the config's, for a loss that includes cross-entropy
  int64_t global_step;              // steps done before this one over the whole run
};

struct TrainHooks {
  // Replaces the model's own forward on a training batch when set and it returns a defined Var: a sectional
  // method (DCQ phase 1) runs each student section on the teacher's activations itself, so the model's full
  // forward would be wasted work. The returned Var stands in for the logits (StepInputs::logits, the training
  // accuracy). It gets the batch and the teacher's logits and taps (no graph); an undefined return = run the
  // model's forward as usual (the method's other phases).
  std::function<Var(const Batch& batch, const Var& teacher_logits, const FeatureTaps& teacher_taps)> forward;
  // Replaces the cross-entropy of each training batch when set (distillation, sectional losses); returns a
  // rank-0 Var.
  std::function<Var(const StepInputs& step)> loss;
  // Added to the loss of each training batch (e.g. a regularisation term). Gets the batch and the model's
  // logits for it; returns a rank-0 Var.
  std::function<Var(const Batch& batch, const Var& logits)> extra_loss;
  // After each optimizer step; global_step counts from 1 over the whole run.
  std::function<void(int64_t global_step)> after_step;
  std::function<void(int epoch)> before_epoch;  // 0-based epoch about to start
  std::function<void(const EpochMetrics& m)> after_epoch;
  // State of a method that evolves during training (a bit-width search): saved in every checkpoint under
  // "method_state".
  std::function<nlohmann::json()> checkpoint_state;
  // Called on --resume with the checkpoint's metadata before anything is loaded: checks the recorded "method"
  // against this run's (e.g. the teacher's checksum) and restores "method_state". Without it, a checkpoint's
  // "method" must equal TrainerOptions::method.
  std::function<void(const nlohmann::json& checkpoint_meta)> on_resume;
  // Amends model.lbar's metadata just before the final model is written (a bit-width search records the bits
  // it found in the model's "extra" record).
  std::function<void(nlohmann::json& model_meta)> model_meta;
};

struct TrainerOptions {
  std::string out_dir;      // empty: write no files (tests, methods that manage their own output)
  bool resume = false;      // continue from out_dir/checkpoint.lbar
  bool force = false;       // allow writing into a directory that holds another run
  ProgressMode progress = ProgressMode::lines;
  int64_t log_every = 100;  // steps between plain log lines
  int prefetch = 2;         // DataLoader prefetch depth
  std::string validation_label = "test split";  // what the val columns mean, recorded in results.json
  ModelOptions model_options;  // recorded so eval can rebuild the model
  // Recorded in every checkpoint and in model.lbar next to the model options (e.g. {"quant": {...}}: how quant/
  // built the layers). A resume refuses a checkpoint whose extra_meta differs.
  nlohmann::json extra_meta = nlohmann::json::object();
  // The training method (quant/methods: name, settings, teacher path and checksum), recorded under "method" in
  // every checkpoint, in model.lbar and in results.json; empty for plain training.
  nlohmann::json method = nlohmann::json::object();
  // What the model's weights were initialised from (nn::InitRecord: path, CRC-32, ...), recorded under "init" in
  // every checkpoint, in model.lbar and in results.json; null for a random initialisation. A resume takes it
  // from the checkpoint.
  nlohmann::json init;
  std::vector<std::string> taps;  // modules of the trained model whose outputs the loss hook reads (nn/taps.h)
  // A frozen model run on every training batch before the trained one (eval mode, parameters frozen, no
  // gradients); not owned, must outlive fit(). Its logits and teacher_taps go to hooks.loss.
  Module* teacher = nullptr;
  std::vector<std::string> teacher_taps;
  TrainHooks hooks;
};

struct TrainResult {
  std::vector<EpochMetrics> history;
  int start_epoch = 0;  // epochs already done when this fit() began (resume)
};

// Loss and accuracy of model on data (eval mode, no gradients; the previous mode is restored).
EvalResult evaluate(Module& model, const ImageDataset& data, int64_t batch_size, const std::vector<float>& mean,
                    const std::vector<float>& std);

class Trainer {
 public:
  // model: built by the caller (make_model) from config.model; the trainer creates the optimizer.
  Trainer(Module& model, TrainConfig config, TrainerOptions options);
  ~Trainer();

  // Trains config.epochs epochs (or the remaining ones after a resume) on train, validating on val.
  TrainResult fit(const ImageDataset& train, const ImageDataset& val);

  Optimizer& optimizer() { return *optimizer_; }
  const TrainConfig& config() const { return config_; }
  // Extra entries for results.json (e.g. the final test accuracy); written on the next results update.
  nlohmann::json& extra_results() { return extra_; }
  void write_results() const;  // results.json now (no-op without out_dir)

 private:
  EpochMetrics train_epoch(DataLoader& loader, int epoch, int64_t& global_step);
  void save_checkpoint(int epochs_done) const;
  int load_checkpoint();  // returns completed epochs
  void prepare_out_dir() const;
  void write_metrics_csv() const;

  Module& model_;
  TrainConfig config_;
  TrainerOptions opt_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<FeatureTaps> taps_, teacher_taps_;
  std::vector<EpochMetrics> history_;
  nlohmann::json dataset_info_ = nlohmann::json::object();
  nlohmann::json extra_ = nlohmann::json::object();
};

// Reads a checkpoint.lbar or model.lbar, rebuilds the model it names (make_model with the recorded options)
// and loads its weights. expected_model: non-empty = must match (error naming both otherwise).
struct LoadedModel {
  std::shared_ptr<Module> model;
  std::string model_name;
  ModelOptions model_options;
  nlohmann::json meta;
};
// Builds the (untrained) model a file describes; nn::make_model when not given. A file whose metadata holds
// entries beyond what make_model can honour (e.g. "quant") needs a builder that honours them (apps/ passes
// quant's); without one it is refused rather than rebuilt wrongly.
using ModelBuilder = std::function<std::shared_ptr<Module>(const std::string& model, const ModelOptions& options,
                                                           const nlohmann::json& meta)>;
LoadedModel load_trained_model(const std::string& path, const std::string& expected_model = "",
                               const ModelBuilder& builder = {});

// ModelOptions <-> JSON (input shape, classes, activation, seed, dropout; not the layer factory).
nlohmann::json model_options_to_json(const ModelOptions& o);
// Throws naming source (a file) for a missing field or a size out of bounds (sides and channels 1..4096,
// classes 1..100000).
ModelOptions model_options_from_json(const nlohmann::json& j, const std::string& source = "");

}  // namespace lowbit::nn
