// Optimizers over a list of parameter Vars, and learning-rate schedules.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/var.h"

namespace lowbit {

// A named tensor, the unit of state dicts (modules, optimizers, checkpoints).
using NamedTensor = std::pair<std::string, Tensor>;

class Optimizer {
 public:
  explicit Optimizer(std::vector<Var> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;  // parameters without a gradient are skipped
  void zero_grad();
  float lr() const { return lr_; }
  void set_lr(float lr) { lr_ = lr; }
  const std::vector<Var>& params() const { return params_; }
  // Internal state (momentum buffers, Adam moments, step count) for bit-exact resume.
  virtual std::vector<NamedTensor> state() const = 0;
  virtual void load_state(const std::vector<NamedTensor>& s) = 0;  // throws lowbit::Error on mismatch

 protected:
  std::vector<Var> params_;
  float lr_ = 0.0f;
};

struct SgdOptions {
  float lr = 0.1f;
  float momentum = 0.0f;
  bool nesterov = false;
  float weight_decay = 0.0f;  // L2, added to the gradient: g += wd·w
};
// PyTorch semantics: b = μ·b + g (b = g on the first step); update d = nesterov ? g + μ·b : b; w -= lr·d.
class Sgd final : public Optimizer {
 public:
  Sgd(std::vector<Var> params, SgdOptions o);
  void step() override;
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& s) override;

 private:
  SgdOptions o_;
  std::vector<Tensor> momentum_;
  bool started_ = false;
};

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled = false;  // true = AdamW: w -= lr·wd·w before the Adam update; false: g += wd·w
};
class Adam final : public Optimizer {
 public:
  Adam(std::vector<Var> params, AdamOptions o);
  void step() override;
  std::vector<NamedTensor> state() const override;
  void load_state(const std::vector<NamedTensor>& s) override;

 private:
  AdamOptions o_;
  std::vector<Tensor> m_, v_;
  int64_t t_ = 0;
};

// Learning rate at a (fractional) epoch. Linear warm-up from 0 over warmup_epochs, then the schedule.
struct LrSchedule {
  enum class Kind { constant, step, cosine } kind = Kind::constant;
  float base_lr = 0.1f;
  float warmup_epochs = 0.0f;
  float step_size = 30.0f;  // step: multiply by gamma every step_size epochs
  float gamma = 0.1f;
  float total_epochs = 1.0f;  // cosine: decays to min_lr at total_epochs
  float min_lr = 0.0f;
  float at(float epoch) const;
};

}  // namespace lowbit
