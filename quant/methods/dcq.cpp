#include "quant/methods/dcq.h"

#include <cmath>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/layers/activation.h"
#include "quant/training.h"

namespace lowbit::quant {

namespace {
// A setting's float as its decimal form, so 0.9f is recorded as 0.9.
double decimal(float v) { return std::stod(fmt::format("{}", v)); }

bool one_of(const std::string& v, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (v == n) return true;
  return false;
}

// "ReLU", "Clip [0, 1]", ...; "" for a module that is not an activation.
std::string activation_kind(const nn::Module& m) {
  if (dynamic_cast<const nn::ReLU*>(&m) || dynamic_cast<const nn::HardTanh*>(&m) ||
      dynamic_cast<const nn::Clip*>(&m) || dynamic_cast<const nn::Identity*>(&m)) {
    const std::string d = m.describe();
    return d.empty() ? m.type_name() : m.type_name() + " " + d;
  }
  return "";
}
}  // namespace

// ---- settings ----

void DcqSettings::validate() const {
  nn::parse_section_spec(sections);  // throws for an empty name
  LOWBIT_CHECK(one_of(loss, {"mse", "l1", "huber"}), "dcq.loss must be one of mse, l1, huber, got '{}'", loss);
  LOWBIT_CHECK(std::isfinite(huber_delta) && huber_delta > 0.0f, "dcq.huber_delta must be > 0, got {}", huber_delta);
  LOWBIT_CHECK(one_of(last_loss, {"ce", "kd"}), "dcq.last_loss must be one of ce, kd, got '{}'", last_loss);
  LOWBIT_CHECK(std::isfinite(kd_temperature) && kd_temperature > 0.0f, "dcq.kd_temperature must be > 0, got {}",
               kd_temperature);
  LOWBIT_CHECK(kd_alpha >= 0.0f && kd_alpha <= 1.0f, "dcq.kd_alpha must be in [0, 1], got {}", kd_alpha);
  LOWBIT_CHECK(phase1_epochs >= 0, "dcq.phase1_epochs must be >= 0 (0 = every epoch is phase 1), got {}",
               phase1_epochs);
  LOWBIT_CHECK(one_of(teacher_activation, {"same", "bound", "any"}),
               "dcq.teacher_activation must be one of same, bound, any, got '{}'", teacher_activation);
}

nlohmann::json DcqSettings::to_json() const {
  return {{"sections", sections},
          {"loss", loss},
          {"huber_delta", decimal(huber_delta)},
          {"last_loss", last_loss},
          {"kd_temperature", decimal(kd_temperature)},
          {"kd_alpha", decimal(kd_alpha)},
          {"phase1_epochs", phase1_epochs},
          {"teacher_activation", teacher_activation}};
}

DcqSettings DcqSettings::from_json(const nlohmann::json& j) {
  DcqSettings s;
  LOWBIT_CHECK(j.is_object(), "dcq: settings must be a JSON object, got {}", j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    auto text = [&](std::string& out) {
      LOWBIT_CHECK(v.is_string(), "dcq.{} must be a string, got {}", k, v.dump());
      out = v.get<std::string>();
    };
    auto number = [&](float& out) {
      LOWBIT_CHECK(v.is_number(), "dcq.{} must be a number, got {}", k, v.dump());
      out = v.get<float>();
    };
    if (k == "sections") text(s.sections);
    else if (k == "loss") text(s.loss);
    else if (k == "last_loss") text(s.last_loss);
    else if (k == "teacher_activation") text(s.teacher_activation);
    else if (k == "huber_delta") number(s.huber_delta);
    else if (k == "kd_temperature") number(s.kd_temperature);
    else if (k == "kd_alpha") number(s.kd_alpha);
    else if (k == "phase1_epochs") {
      LOWBIT_CHECK(v.is_number_integer(), "dcq.phase1_epochs must be an integer, got {}", v.dump());
      s.phase1_epochs = v.get<int>();
    } else {
      LOWBIT_CHECK(false, "dcq: unknown setting '{}' (settings: sections, loss, huber_delta, last_loss, "
                   "kd_temperature, kd_alpha, phase1_epochs, teacher_activation)", k);
    }
  }
  s.validate();
  return s;
}

// ---- the method ----

Dcq::Dcq(DcqSettings s) : s_(std::move(s)), kd_(s_.kd_temperature, s_.kd_alpha) { s_.validate(); }

std::unique_ptr<Method> Dcq::from_json(const nlohmann::json& settings) {
  return std::make_unique<Dcq>(DcqSettings::from_json(settings));
}

void Dcq::prepare(nn::Module& student, nn::Module* teacher) {
  LOWBIT_CHECK(teacher != nullptr, "dcq: sectional distillation needs a teacher model");
  student_ = dynamic_cast<nn::Sequential*>(&student);
  auto* t = dynamic_cast<nn::Sequential*>(teacher);
  LOWBIT_CHECK(student_ && t, "dcq: the student and the teacher must be zoo models (a Sequential of named stages), "
               "got '{}' and '{}'", student.type_name(), teacher->type_name());
  LOWBIT_CHECK(student_->type_name() == t->type_name(), "dcq: the teacher is a '{}', the student a '{}'",
               t->type_name(), student_->type_name());
  std::vector<std::string> b = nn::parse_section_spec(s_.sections);
  if (b.empty()) b = nn::default_section_boundaries(*student_);
  try {
    sections_ = nn::make_sections(*student_, b);
  } catch (const Error& e) {
    lowbit::detail::throw_error(fmt::format("dcq.sections '{}': {}", s_.sections, e.what()));
  }
  // The boundaries' outputs are regression targets: the teacher's activations must be the student's kind.
  const auto tm = teacher->named_modules();
  for (const auto& [name, m] : student.named_modules()) {
    const std::string sk = activation_kind(*m);
    if (sk.empty()) continue;
    std::string tk = "no such module";
    for (const auto& [tname, tmod] : tm)
      if (tname == name) tk = activation_kind(*tmod);
    LOWBIT_CHECK(s_.teacher_activation != "same" || tk == sk,
                 "dcq: the teacher's activation '{}' is {}, the student's is {}: DCQ regresses the student's section "
                 "outputs onto the teacher's, so the teacher must be trained with the student's hidden activation "
                 ", or set "
                 "dcq.teacher_activation to 'bound' or 'any'",
                 name, tk.empty() ? "not an activation" : tk, sk);
  }
  // "bound": each boundary's clip range, from the last bounded activation of the student's section.
  bounds_.assign(sections_.size(), {1.0f, 0.0f});
  if (s_.teacher_activation == "bound") {
    for (size_t i = 0; i + 1 < sections_.size(); ++i) {
      for (size_t c = sections_[i].begin; c < sections_[i].end; ++c) {
        const nn::Module& top = *student_->children()[c].second;
        for (const auto& [name, m] : top.named_modules()) {
          if (auto* clip = dynamic_cast<const nn::Clip*>(m)) bounds_[i] = {clip->lo(), clip->hi()};
          else if (auto* ht = dynamic_cast<const nn::HardTanh*>(m)) bounds_[i] = {ht->lo(), ht->hi()};
          else if (!activation_kind(*m).empty()) bounds_[i] = {1.0f, 0.0f};  // ReLU / identity: nothing to clip
        }
      }
    }
  }
  // Every section starts from the teacher's (parameters and BatchNorm statistics; quantizer parameters stay).
  student.load_state_dict(teacher->state_dict(), /*strict=*/false);
  bump_weight_versions(student);
}

std::vector<std::string> Dcq::teacher_taps() const {
  std::vector<std::string> out;
  for (const nn::Section& s : sections_)
    if (!s.output.empty()) out.push_back(s.output);
  return out;
}

Var Dcq::boundary_value(const nn::FeatureTaps& teacher_taps, size_t i) const {
  const Var& v = teacher_taps.get(sections_[i].output);
  const auto [lo, hi] = bounds_.empty() ? std::pair<float, float>{1.0f, 0.0f} : bounds_[i];
  return lo < hi ? clip(v, lo, hi) : v;
}

Var Dcq::train_forward(const nn::Batch& batch, const Var&, const nn::FeatureTaps& teacher_taps) {
  outputs_.clear();
  losses_.clear();
  if (!phase1_) return Var();
  LOWBIT_CHECK(student_ != nullptr, "dcq: prepare() was not called");
  for (size_t i = 0; i < sections_.size(); ++i) {
    Var in;
    if (i == 0) {
      in = Var(batch.images);
    } else {
      NoGradGuard ng;  // the teacher's activation is an input, never a path for gradients
      in = boundary_value(teacher_taps, i - 1);
    }
    outputs_.push_back(student_->forward_range(in, sections_[i].begin, sections_[i].end));
  }
  return outputs_.back();
}

Var Dcq::regression(const Var& out, const Var& target) const {
  LOWBIT_CHECK(out.shape() == target.shape(), "dcq: a section output has shape {}, the teacher's {}",
               out.shape().str(), target.shape().str());
  if (s_.loss == "l1") return l1_loss(out, target);
  if (s_.loss == "huber") return huber_loss(out, target, s_.huber_delta);
  return mse_loss(out, target);
}

Var Dcq::classification(const nn::StepInputs& step) {
  if (s_.last_loss == "kd") return kd_.loss(step);
  return cross_entropy(step.logits, step.batch.labels, step.label_smoothing);
}

Var Dcq::loss(const nn::StepInputs& step) {
  if (!phase1_) return classification(step);
  LOWBIT_CHECK(outputs_.size() == sections_.size(), "dcq: phase-1 loss without the sections' forward");
  losses_.clear();
  for (size_t i = 0; i + 1 < sections_.size(); ++i) {
    Var target;
    {
      NoGradGuard ng;
      target = boundary_value(step.teacher_taps, i);
    }
    losses_.push_back(regression(outputs_[i], target));
  }
  losses_.push_back(classification(step));
  Var total = losses_[0];
  for (size_t i = 1; i < losses_.size(); ++i) total = add(total, losses_[i]);
  outputs_.clear();  // they hold the step's graph; the losses keep what backward needs
  return total;
}

}  // namespace lowbit::quant
