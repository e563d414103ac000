#include "nn/taps.h"

#include <algorithm>

#include "engine/error.h"

namespace lowbit::nn {

FeatureTaps::FeatureTaps(Module& model, const std::vector<std::string>& names, TapMode mode) {
  const auto modules = model.named_modules();
  auto known = [&] {
    std::string s;
    for (const auto& [n, m] : modules)
      if (!n.empty()) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  std::vector<Module*> found;
  for (const std::string& name : names) {
    LOWBIT_CHECK(!name.empty(), "feature taps: empty module name (tap a named module; the model's output is the "
                                "logits)");
    LOWBIT_CHECK(std::count(names.begin(), names.end(), name) == 1, "feature taps: module '{}' is listed twice",
                 name);
    auto it = std::find_if(modules.begin(), modules.end(), [&](const auto& e) { return e.first == name; });
    LOWBIT_CHECK(it != modules.end(), "feature taps: the {} model has no module '{}' (modules: {})",
                 model.type_name(), name, known());
    LOWBIT_CHECK(!it->second->tapped(), "feature taps: module '{}' already carries a tap", name);
    found.push_back(it->second);
  }
  for (size_t i = 0; i < names.size(); ++i) {
    auto slot = std::make_unique<TapSlot>();
    slot->mode = mode;
    found[i]->tap_ = slot.get();
    names_.push_back(names[i]);
    modules_.push_back(found[i]);
    slots_.push_back(std::move(slot));
  }
}

FeatureTaps::~FeatureTaps() {
  for (size_t i = 0; i < modules_.size(); ++i)
    if (modules_[i]->tap_ == slots_[i].get()) modules_[i]->tap_ = nullptr;
}

size_t FeatureTaps::index(const std::string& name) const {
  auto it = std::find(names_.begin(), names_.end(), name);
  LOWBIT_CHECK(it != names_.end(), "feature taps: module '{}' is not tapped", name);
  return static_cast<size_t>(it - names_.begin());
}

bool FeatureTaps::contains(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

bool FeatureTaps::fired(const std::string& name) const { return slots_[index(name)]->fired; }

const Var& FeatureTaps::get(const std::string& name) const {
  const TapSlot& s = *slots_[index(name)];
  LOWBIT_CHECK(s.fired, "feature taps: module '{}' has not run since the taps were cleared{}", name,
               s.mode == TapMode::training ? " (its tap captures training-mode calls only)" : "");
  return s.value;
}

void FeatureTaps::clear() {
  for (auto& s : slots_) {
    s->value = Var();
    s->fired = false;
  }
}

}  // namespace lowbit::nn
