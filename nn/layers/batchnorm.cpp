#include "nn/layers/batchnorm.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::nn {

BatchNorm::BatchNorm(std::string type_name, int channels, int input_rank, float momentum, float eps)
    : Module(std::move(type_name)), channels_(channels), input_rank_(input_rank), momentum_(momentum), eps_(eps) {
  LOWBIT_CHECK(channels > 0, "{}: channels must be positive, got {}", this->type_name(), channels);
  LOWBIT_CHECK(momentum >= 0.0f && momentum <= 1.0f && eps > 0.0f,
               "{}: momentum must be in [0, 1] and eps > 0, got momentum={} eps={}", this->type_name(), momentum,
               eps);
  gamma_ = register_parameter("weight", Tensor::ones(Shape{channels}));
  beta_ = register_parameter("bias", Tensor::zeros(Shape{channels}));
  register_buffer("running_mean", Tensor::zeros(Shape{channels}));  // buffer(0)
  register_buffer("running_var", Tensor::ones(Shape{channels}));    // buffer(1)
}

Var BatchNorm::forward(const Var& x) { return run(x, BatchNormEpilogue{}); }

Var BatchNorm::forward_fused(const Var& x, const BatchNormEpilogue& epilogue) {
  ++fused_calls_;
  return run(x, epilogue);
}

Var BatchNorm::run(const Var& x, const BatchNormEpilogue& epilogue) {
  const Shape& s = x.shape();
  LOWBIT_CHECK(s.rank() == input_rank_ && s[1] == channels_, "{}: expected input [N, {}{}], got {}", type_name(),
               channels_, input_rank_ == 4 ? ", H, W" : "", s.str());
  return batch_norm(x, gamma_, beta_, buffer(0), buffer(1), is_training(), momentum_, eps_, epilogue);
}

BatchNorm* fusable_batch_norm(Module& m) {
  return forward_observed() || m.tap_active() ? nullptr : dynamic_cast<BatchNorm*>(&m);
}

std::string BatchNorm::describe() const { return fmt::format("C={}", channels_); }

BatchNorm1d::BatchNorm1d(int channels, float momentum, float eps)
    : BatchNorm("BatchNorm1d", channels, 2, momentum, eps) {}
BatchNorm2d::BatchNorm2d(int channels, float momentum, float eps)
    : BatchNorm("BatchNorm2d", channels, 4, momentum, eps) {}

}  // namespace lowbit::nn
