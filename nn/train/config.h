// TrainConfig: everything that defines a training run, serialisable to JSON so the checkpoint, results.json and a
// resume check all see the same record.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/optim.h"

namespace lowbit::nn {

struct TrainConfig {
  std::string model = "lenet5";
  std::string dataset = "fashion-mnist";
  int epochs = 10;
  int64_t batch_size = 128;
  std::string optimizer = "sgd";  // sgd | adam | adamw
  float lr = 0.05f;
  float momentum = 0.9f;          // sgd momentum; adam beta1 stays 0.9
  bool nesterov = false;
  float weight_decay = 5e-4f;     // SGD's; see conventional_weight_decay for the others
  std::string schedule = "cosine";  // constant | step | cosine
  float warmup_epochs = 0.0f;
  float step_size = 30.0f, gamma = 0.1f;  // step schedule
  float label_smoothing = 0.0f;
  uint64_t seed = 1;
  int threads = 0;            // 0 = leave the engine default
  int64_t val_holdout = 0;    // > 0: validate on the last N training images (removed from training); 0: test set
  int crop_padding = -1;      // −1 = the data set's default (4 for CIFAR-10, else 0); recorded resolved
  int hflip = -1;             // −1 = the data set's default (on for CIFAR-10), 0 off, 1 on; recorded resolved
  float dropout = 0.0f;

  // The usual default of each optimizer: SGD 5e-4 (an L2 term, the CIFAR ResNet recipes), Adam 0 (an L2 term in
  // Adam's gradient would be rescaled per weight; PyTorch's Adam default is 0), AdamW 0.01 (decoupled, PyTorch's
  // default). The command line applies it when --weight-decay is not given.
  static float conventional_weight_decay(const std::string& optimizer);

  // crop_padding / hflip of −1 ("the data set's default") replaced by the values a run uses: the data set's usual
  // augmentation (nn/data/registry.h), none for a name the registry does not know (synthetic test data). The
  // trainer resolves its config before recording it, so files hold what was done; a record of an older run that
  // holds −1 resolves to the same values, so it compares equal to a new one.
  void resolve_augmentation();

  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);  // throws lowbit::Error on missing/mistyped fields
  // Throws lowbit::Error naming the first bad field: kErrorPrefix, the field name, what is wrong
  // ("training config: lr must be > 0 (got 0)").
  void validate() const;
  static constexpr const char* kErrorPrefix = "training config: ";
  LrSchedule lr_schedule() const;
};

// The optimizer a config names, over params. Throws for an unknown name.
std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<Var> params);

// Build facts for results files: version, git revision, compiler, build type, ISA, threads.
nlohmann::json build_info();

}  // namespace lowbit::nn
