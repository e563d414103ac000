#include "quant/methods/kd.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::quant {

KnowledgeDistillation::KnowledgeDistillation(float temperature, float alpha)
    : temperature_(temperature), alpha_(alpha) {
  LOWBIT_CHECK(std::isfinite(temperature) && temperature > 0.0f, "kd.temperature must be > 0, got {}", temperature);
  LOWBIT_CHECK(alpha >= 0.0f && alpha <= 1.0f, "kd.alpha must be in [0, 1], got {}", alpha);
}

std::unique_ptr<Method> KnowledgeDistillation::from_json(const nlohmann::json& settings) {
  float t = kDefaultTemperature, a = kDefaultAlpha;
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    LOWBIT_CHECK(it.key() == "temperature" || it.key() == "alpha",
                 "kd: unknown setting '{}' (settings: temperature, alpha)", it.key());
    LOWBIT_CHECK(it.value().is_number(), "kd.{} must be a number, got {}", it.key(), it.value().dump());
    (it.key() == "temperature" ? t : a) = it.value().get<float>();
  }
  return std::make_unique<KnowledgeDistillation>(t, a);
}

void KnowledgeDistillation::prepare(nn::Module&, nn::Module* teacher) {
  LOWBIT_CHECK(teacher != nullptr, "kd: knowledge distillation needs a teacher model");
}

Var KnowledgeDistillation::loss(const nn::StepInputs& step) {
  LOWBIT_CHECK(step.teacher_logits.defined(), "kd: the trainer ran no teacher for this step");
  const Var ce = cross_entropy(step.logits, step.batch.labels, step.label_smoothing);
  const Var kl = kl_div_with_temperature(step.logits, step.teacher_logits, temperature_);
  return add(mul(ce, 1.0f - alpha_), mul(kl, alpha_));
}

nlohmann::json KnowledgeDistillation::to_json() const {
  // Through the decimal form, so 0.9f is recorded as 0.9, not 0.8999999761581421.
  return {{"temperature", std::stod(fmt::format("{}", temperature_))},
          {"alpha", std::stod(fmt::format("{}", alpha_))}};
}

}  // namespace lowbit::quant
