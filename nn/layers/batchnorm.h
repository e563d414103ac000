// Batch normalisation over the channel axis (axis 1) of [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d):
// y = γ·(x − μ)/√(σ² + ε) + β with batch statistics in training (running estimates updated with momentum)
// and the running estimates in eval. γ starts at 1, β at 0, running mean 0, running variance 1 (PyTorch).
// Export folds it into the previous layer, so the parameters and statistics are exposed.
#pragma once
#include "engine/ops.h"
#include "nn/module.h"

namespace lowbit::nn {

class BatchNorm : public Module {
 public:
  Var forward(const Var& x) override;
  // act(forward(x) + residual) as one op (engine batch_norm's epilogue); residual may be undefined.
  Var forward_fused(const Var& x, const BatchNormEpilogue& epilogue);
  // How many times a container ran this layer through forward_fused (tests observe the fusion decision).
  int64_t fused_calls() const { return fused_calls_; }
  std::string describe() const override;

  int channels() const { return channels_; }
  float momentum() const { return momentum_; }
  float eps() const { return eps_; }
  Var weight() const { return gamma_; }
  Var bias() const { return beta_; }
  const Tensor& running_mean() const { return local_buffers()[0].second; }
  const Tensor& running_var() const { return local_buffers()[1].second; }

 protected:
  BatchNorm(std::string type_name, int channels, int input_rank, float momentum, float eps);

 private:
  Var run(const Var& x, const BatchNormEpilogue& epilogue);

  int64_t fused_calls_ = 0;
  int channels_, input_rank_;
  float momentum_, eps_;
  Var gamma_, beta_;
};

// m as a BatchNorm whose fused entry point a container may call instead of running it and the next child
// separately: null when m is another layer, when a ForwardObserver is active (observers see every child) or when
// m's own feature tap captures this call (the tap needs the BatchNorm's unfused output). A tap on the activation
// does not stop fusion: the container hands it the fused output (Module::record_output).
BatchNorm* fusable_batch_norm(Module& m);

class BatchNorm1d final : public BatchNorm {
 public:
  explicit BatchNorm1d(int channels, float momentum = 0.1f, float eps = 1e-5f);
};

class BatchNorm2d final : public BatchNorm {
 public:
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f);
};

}  // namespace lowbit::nn
