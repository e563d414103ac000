// Module: the unit of a network. A module owns named parameters (Vars that require grad), named buffers
// (Tensors that are state but not trained, e.g. BatchNorm running statistics) and named child modules.
// Recursive accessors join names with dots, as in PyTorch: "layer1.0.conv1.weight".
//
// Containers (Sequential, BasicBlock) call their children through the registered child list, never through
// private typed copies, so replace_child() swaps a layer everywhere (the hook block-replacement methods use).
// Call modules with operator(), not forward(): operator() is where a module's feature tap (nn/taps.h: the
// per-model activation capture of distillation methods) and a ForwardObserver (model summary) see each call.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/optim.h"  // NamedTensor
#include "engine/tensor.h"
#include "engine/var.h"

namespace lowbit::nn {

using NamedVar = std::pair<std::string, Var>;

// An error raised inside a child module's forward, re-thrown by each container on the way out with the
// child's name prepended, so the message names the layer: "layer2.0.conv1: Conv2d: expected input ...".
class ForwardError : public Error {
 public:
  ForwardError(std::string path, std::string cause);
  const std::string& path() const { return path_; }
  const std::string& cause() const { return cause_; }

 private:
  std::string path_, cause_;
};

class Module;
struct TapSlot;
class FeatureTaps;
using ModulePtr = std::shared_ptr<Module>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Runs forward() and reports the call to the observer of this thread, if any.
  Var operator()(const Var& x);
  virtual Var forward(const Var& x) = 0;

  const std::string& type_name() const { return type_name_; }
  // One-line description of the layer's configuration for summaries ("3x3 s2 p1 g1"); quantized layers add
  // their bit widths here.
  virtual std::string describe() const { return {}; }
  // Multiply-accumulates of one call with these input/output shapes, counting only this module's own work
  // (children report theirs). 0 for layers without multiplications worth counting (BN, pooling, activations).
  virtual int64_t macs(const Shape& in, const Shape& out) const;

  // ---- parameters, buffers, children ----
  std::vector<NamedVar> named_parameters() const;  // recursive, dotted names, registration order
  std::vector<Var> parameters() const;
  std::vector<NamedTensor> named_buffers() const;  // recursive, dotted names
  int64_t num_parameters() const;                  // total elements of all parameters
  const std::vector<NamedVar>& local_parameters() const { return params_; }
  const std::vector<NamedTensor>& local_buffers() const { return buffers_; }
  const std::vector<std::pair<std::string, ModulePtr>>& children() const { return children_; }
  // This module (name "") and every descendant, pre-order, with dotted names.
  std::vector<std::pair<std::string, Module*>> named_modules() const;
  // Child by local name, or descendant by dotted name ("layer1.0.conv1"); throws naming the missing part.
  Module& find(const std::string& dotted_name) const;
  // Replaces an existing child (same name, same position); throws if there is no child of that name.
  void replace_child(const std::string& name, ModulePtr m);

  // ---- modes ----
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- feature taps (nn/taps.h) ----
  bool tapped() const { return tap_ != nullptr; }
  // True when this module's tap captures a call now: tapped, and in training mode or tapped in every mode.
  bool tap_active() const;
  // Hands y to this module's tap as its output (no-op when no tap is active). operator() does it; a container
  // that computes this child's output inside a fused op (BatchNorm + activation) calls it for the child.
  void record_output(const Var& y);

  void zero_grad();  // drops the gradient of every parameter
  // Freezes (false) or unfreezes every parameter of this module and its descendants; frozen parameters get
  // no gradient and optimizers skip them (sectional / block-wise training).
  void set_requires_grad(bool on);

  // ---- state ----
  // Parameters then buffers, each recursive with dotted names. Tensors share storage with the module.
  std::vector<NamedTensor> state_dict() const;
  // Copies values into the existing tensors (optimizers holding the parameter Vars stay valid). Nothing is
  // changed unless every check passes. Shape mismatches and duplicate names are always errors; with strict,
  // missing and unexpected keys are too. The error lists every offending key.
  void load_state_dict(const std::vector<NamedTensor>& state, bool strict = true);

 protected:
  // Registration, normally from constructors. Names are local (no dots) and unique within this module.
  Var register_parameter(const std::string& name, Tensor init);
  void register_buffer(const std::string& name, Tensor init);
  Tensor& buffer(size_t index) { return buffers_[index].second; }
  ModulePtr register_module(const std::string& name, ModulePtr m);
  Module& child(size_t index) const { return *children_[index].second; }
  // Calls child `index` on x; a lowbit::Error it throws comes out as a ForwardError naming the child.
  Var call_child(size_t index, const Var& x) const;
  // Runs f(child index) with the same error naming (a layer calling a child's fused entry point).
  template <class F>
  Var call_child_with(size_t index, F f) const {
    try {
      return f(*children_[index].second);
    } catch (const ForwardError& e) {
      throw ForwardError(children_[index].first + "." + e.path(), e.cause());
    } catch (const Error& e) {
      throw ForwardError(children_[index].first, e.what());
    }
  }

 private:
  void check_new_name(const std::string& name, const char* what) const;
  void collect_parameters(const std::string& prefix, std::vector<NamedVar>& out) const;
  void collect_buffers(const std::string& prefix, std::vector<NamedTensor>& out) const;
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module*>>& out) const;

  friend class FeatureTaps;
  std::string type_name_;
  bool training_ = true;
  TapSlot* tap_ = nullptr;  // set by FeatureTaps while it is alive
  std::vector<NamedVar> params_;
  std::vector<NamedTensor> buffers_;
  std::vector<std::pair<std::string, ModulePtr>> children_;
};

// Sees every Module::operator() call on the thread where a ForwardObserverScope is alive, whichever model it
// belongs to. Used by the model summary (shapes, MACs); training methods capture activations with feature taps
// (nn/taps.h), which see only their own model and keep fusion on.
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void on_forward(const Module& m, const Var& in, const Var& out) = 0;
};

// True while a ForwardObserverScope is alive on this thread. Layers that fuse children into one op (BN + ReLU,
// a residual tail) do so only when nobody observes the children's outputs.
bool forward_observed();

// Installs an observer for the current thread for the scope's lifetime (scopes nest; the innermost wins).
class ForwardObserverScope {
 public:
  explicit ForwardObserverScope(ForwardObserver& obs);
  ~ForwardObserverScope();
  ForwardObserverScope(const ForwardObserverScope&) = delete;
  ForwardObserverScope& operator=(const ForwardObserverScope&) = delete;

 private:
  ForwardObserver* prev_;
};

}  // namespace lowbit::nn
