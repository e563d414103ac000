#include "nn/module.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "engine/error.h"
#include "nn/taps.h"

namespace lowbit::nn {

namespace {
// The observer of this thread; only set while a ForwardObserverScope is alive (summary, activation capture).
thread_local ForwardObserver* t_observer = nullptr;

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

// "a, b, c" — at most 6 keys, then "and N more", so the message stays one readable line.
std::string list_keys(const std::vector<std::string>& keys) {
  constexpr size_t kShown = 6;
  std::string s;
  for (size_t i = 0; i < keys.size() && i < kShown; ++i) s += (s.empty() ? "" : ", ") + keys[i];
  if (keys.size() > kShown) s += fmt::format(" and {} more", keys.size() - kShown);
  return s;
}
}  // namespace

bool forward_observed() { return t_observer != nullptr; }

ForwardObserverScope::ForwardObserverScope(ForwardObserver& obs) : prev_(t_observer) { t_observer = &obs; }
ForwardObserverScope::~ForwardObserverScope() { t_observer = prev_; }

ForwardError::ForwardError(std::string path, std::string cause)
    : Error(path + ": " + cause), path_(std::move(path)), cause_(std::move(cause)) {}

Var Module::call_child(size_t index, const Var& x) const {
  return call_child_with(index, [&](Module& m) { return m(x); });
}

Var Module::operator()(const Var& x) {
  Var y = forward(x);
  if (tap_) record_output(y);
  if (t_observer) t_observer->on_forward(*this, x, y);
  return y;
}

bool Module::tap_active() const { return tap_ && (training_ || tap_->mode == TapMode::always); }

void Module::record_output(const Var& y) {
  if (!tap_active()) return;
  tap_->value = y;
  tap_->fired = true;
}

int64_t Module::macs(const Shape&, const Shape&) const { return 0; }

void Module::check_new_name(const std::string& name, const char* what) const {
  LOWBIT_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "{}: {} name '{}' must be non-empty and contain no '.'", type_name_, what, name);
  auto taken = [&](const auto& v) {
    return std::any_of(v.begin(), v.end(), [&](const auto& e) { return e.first == name; });
  };
  LOWBIT_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_),
               "{}: cannot register {} '{}': the name is already used", type_name_, what, name);
}

Var Module::register_parameter(const std::string& name, Tensor init) {
  check_new_name(name, "parameter");
  LOWBIT_CHECK(init.defined(), "{}: parameter '{}' has no value", type_name_, name);
  Var v(std::move(init), /*requires_grad=*/true);
  v.set_name(name);
  params_.emplace_back(name, v);
  return v;
}

void Module::register_buffer(const std::string& name, Tensor init) {
  check_new_name(name, "buffer");
  LOWBIT_CHECK(init.defined(), "{}: buffer '{}' has no value", type_name_, name);
  buffers_.emplace_back(name, std::move(init));
}

ModulePtr Module::register_module(const std::string& name, ModulePtr m) {
  check_new_name(name, "child module");
  LOWBIT_CHECK(m != nullptr, "{}: child module '{}' is null", type_name_, name);
  children_.emplace_back(name, m);
  return m;
}

void Module::replace_child(const std::string& name, ModulePtr m) {
  LOWBIT_CHECK(m != nullptr, "{}: replacement for child '{}' is null", type_name_, name);
  for (auto& c : children_) {
    if (c.first == name) {
      m->train(training_);
      c.second = std::move(m);
      return;
    }
  }
  LOWBIT_CHECK(false, "{}: no child module named '{}' to replace", type_name_, name);
}

void Module::collect_parameters(const std::string& prefix, std::vector<NamedVar>& out) const {
  for (const auto& p : params_) out.emplace_back(join(prefix, p.first), p.second);
  for (const auto& c : children_) c.second->collect_parameters(join(prefix, c.first), out);
}

void Module::collect_buffers(const std::string& prefix, std::vector<NamedTensor>& out) const {
  for (const auto& b : buffers_) out.emplace_back(join(prefix, b.first), b.second);
  for (const auto& c : children_) c.second->collect_buffers(join(prefix, c.first), out);
}

void Module::collect_modules(const std::string& prefix,
                             std::vector<std::pair<std::string, Module*>>& out) const {
  out.emplace_back(prefix, const_cast<Module*>(this));
  for (const auto& c : children_) c.second->collect_modules(join(prefix, c.first), out);
}

std::vector<NamedVar> Module::named_parameters() const {
  std::vector<NamedVar> out;
  collect_parameters("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& p : named_parameters()) out.push_back(p.second);
  return out;
}

std::vector<NamedTensor> Module::named_buffers() const {
  std::vector<NamedTensor> out;
  collect_buffers("", out);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.second.value().numel();
  return n;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, Module*>> out;
  collect_modules("", out);
  return out;
}

Module& Module::find(const std::string& dotted_name) const {
  const Module* m = this;
  size_t start = 0;
  while (true) {
    const size_t dot = dotted_name.find('.', start);
    const std::string part = dotted_name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const Module* next = nullptr;
    for (const auto& c : m->children_)
      if (c.first == part) next = c.second.get();
    LOWBIT_CHECK(next != nullptr, "{}: no module '{}' (no child '{}' in '{}')", type_name_, dotted_name, part,
                 start == 0 ? std::string("<root>") : dotted_name.substr(0, start - 1));
    m = next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return const_cast<Module&>(*m);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

void Module::set_requires_grad(bool on) {
  for (auto& p : named_parameters()) p.second.set_requires_grad(on);
}

std::vector<NamedTensor> Module::state_dict() const {
  std::vector<NamedTensor> out;
  for (auto& p : named_parameters()) out.emplace_back(p.first, p.second.value());
  for (auto& b : named_buffers()) out.push_back(std::move(b));
  return out;
}

void Module::load_state_dict(const std::vector<NamedTensor>& state, bool strict) {
  std::map<std::string, const Tensor*> given;
  std::vector<std::string> duplicate, missing, unexpected, mismatched, nonfinite;
  for (const auto& e : state) {
    if (!given.emplace(e.first, &e.second).second) duplicate.push_back(e.first);
  }
  // Destinations: parameter values and buffers, both shared with the module.
  std::vector<NamedTensor> mine = state_dict();
  std::set<std::string> known;
  std::vector<std::pair<Tensor, const Tensor*>> copies;
  for (auto& d : mine) {
    known.insert(d.first);
    auto it = given.find(d.first);
    if (it == given.end()) {
      missing.push_back(d.first);
      continue;
    }
    const Tensor& src = *it->second;
    if (!src.defined() || src.shape() != d.second.shape()) {
      mismatched.push_back(fmt::format("{} (expected {}, got {})", d.first, d.second.shape().str(),
                                       src.defined() ? src.shape().str() : std::string("undefined")));
      continue;
    }
    // A non-finite value (a diverged or corrupted run) would evaluate to garbage silently.
    const float* v = src.data();
    for (int64_t i = 0, n = src.numel(); i < n; ++i)
      if (!std::isfinite(v[i])) {
        nonfinite.push_back(fmt::format("{} (element {} is {})", d.first, i, v[i]));
        break;
      }
    copies.emplace_back(d.second, &src);
  }
  for (const auto& g : given)
    if (!known.count(g.first)) unexpected.push_back(g.first);

  std::string err;
  const auto add = [&err](const char* what, const std::vector<std::string>& keys) {
    err += fmt::format("{}{}: {}", err.empty() ? "" : "; ", what, list_keys(keys));
  };
  if (!duplicate.empty()) add("duplicate keys", duplicate);
  if (!mismatched.empty()) add("shape mismatch", mismatched);
  if (!nonfinite.empty()) add("non-finite values", nonfinite);
  if (strict && !missing.empty()) add("missing keys", missing);
  if (strict && !unexpected.empty()) add("unexpected keys", unexpected);
  // One line: the keys are listed (list_keys shortens long lists).
  LOWBIT_CHECK(err.empty(), "{}: load_state_dict failed ({} entries given, {} expected): {}", type_name_,
               state.size(), mine.size(), err);
  for (auto& c : copies) {
    if (!c.first.shares_storage(*c.second) || c.first.data() != c.second->data()) c.first.copy_from(*c.second);
  }
}

}  // namespace lowbit::nn
