// Feature taps: capture the outputs of chosen modules of one model, selected by their dotted names as in
// Module::named_modules() ("layer2", "layer1.0.act2", "fc1"). A training method (distillation on intermediate
// features, sectional training, mixed teacher/student chains) reads them after the model's forward:
//
//   FeatureTaps taps(student, {"layer1", "layer2"});        // fires in training mode only
//   Var logits = student(x);                                 // taps["layer1"] is now layer1's output Var
//   Var loss = mse_loss(taps.get("layer1"), teacher_feat);   // gradients flow through the captured Var
//
// A tap belongs to one module instance, so it fires on that model's forward only, never on another model's
// (a teacher's) forward. By default it fires only while the module is in training mode, so evaluation passes
// neither capture nor change anything; TapMode::always also captures in eval mode (a frozen teacher).
//
// Fusion: Sequential and BasicBlock run BatchNorm → activation (→ + shortcut) as one op. A tap on the
// activation gets the fused op's output (which is the activation's output), so fusion stays on. Only a tap on a
// BatchNorm itself needs the unfused boundary: that one BatchNorm runs unfused while its tap fires, every other
// block stays fused. So a model's outputs and gradients with taps are bit-identical to the untapped model's
// unless a BatchNorm is tapped (then they agree to float rounding, as fused and unfused runs do).
//
// The taps must not outlive the model; destroying them detaches them. A module can carry one tap at a time.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/var.h"
#include "nn/module.h"

namespace lowbit::nn {

enum class TapMode { training, always };

// The capture slot a tapped module writes to (owned by FeatureTaps).
struct TapSlot {
  Var value;
  bool fired = false;
  TapMode mode = TapMode::training;
};

class FeatureTaps {
 public:
  FeatureTaps() = default;
  // Throws naming an unknown module (listing the model's module names), a duplicate or empty name, or a module
  // that already carries a tap.
  FeatureTaps(Module& model, const std::vector<std::string>& names, TapMode mode = TapMode::training);
  ~FeatureTaps();
  FeatureTaps(const FeatureTaps&) = delete;
  FeatureTaps& operator=(const FeatureTaps&) = delete;

  const std::vector<std::string>& names() const { return names_; }
  bool empty() const { return names_.empty(); }
  bool contains(const std::string& name) const;
  // True when the named module ran since the last clear().
  bool fired(const std::string& name) const;
  // The output of the named module's last call since clear(); throws when the name is not tapped or the
  // module did not run (e.g. the tap is training-only and the model was in eval mode).
  const Var& get(const std::string& name) const;
  // Drops every captured value (and the graph it holds).
  void clear();

 private:
  size_t index(const std::string& name) const;

  std::vector<std::string> names_;
  std::vector<Module*> modules_;
  std::vector<std::unique_ptr<TapSlot>> slots_;
};

}  // namespace lowbit::nn
