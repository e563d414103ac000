// Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network") from a
// frozen teacher, usually the fp32 model of the same network, into a (quantized) student:
//
//   loss = (1 − α) · CE(student logits, labels) + α · T² · KL( softmax(teacher/T) ‖ softmax(student/T) )
//
// with both terms averaged over the batch; the KL and its gradient are engine's kl_div_with_temperature
// (finite-difference checked in tests/engine). The teacher gets no gradient.
//
// Steps (what is READ and what is RECONSTRUCTED, as in the research notes, ../shared/research/methods.md):
//   1. Run the frozen teacher on the batch (eval mode, no gradients) and the student (training mode).
//      RECONSTRUCTED: the original paper was not read in this project; this is the standard formulation the
//      research notes use for the optional KD term of block-replacement QAT (§3.2), with the loss as the
//      project's issue states it.
//   2. Soften both logits with the same temperature T; the KL of the teacher's distribution from the
//      student's, times T² so its gradient scale does not shrink as 1/T² (RECONSTRUCTED, same source).
//   3. Mix with the hard-label cross-entropy (label smoothing as configured) by α; α = 0 is plain training.
//   Choices left open and taken here: the CE term uses the run's label smoothing; the teacher runs on the
//   same augmented batch as the student; defaults T = 4, α = 0.9.
#pragma once
#include <memory>

#include "quant/methods/method.h"

namespace lowbit::quant {

class KnowledgeDistillation final : public Method {
 public:
  // Throws naming the field when temperature is not finite and > 0 or alpha is outside [0, 1].
  KnowledgeDistillation(float temperature, float alpha);
  // {"temperature": T, "alpha": A}; missing fields take the defaults; unknown fields are refused.
  static std::unique_ptr<Method> from_json(const nlohmann::json& settings);

  std::string name() const override { return "kd"; }
  void prepare(nn::Module& student, nn::Module* teacher) override;
  Var loss(const nn::StepInputs& step) override;
  nlohmann::json to_json() const override;

  float temperature() const { return temperature_; }
  float alpha() const { return alpha_; }

  static constexpr float kDefaultTemperature = 4.0f;
  static constexpr float kDefaultAlpha = 0.9f;

 private:
  float temperature_, alpha_;
};

}  // namespace lowbit::quant
