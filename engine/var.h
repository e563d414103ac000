// Var: a handle to one node of the define-by-run autograd graph {value, grad, inputs, backward fn}
// (after flashlight's fl::Variable). Ops build nodes with Var::make; backward() sorts the graph reachable from
// the root topologically once, walks it in reverse calling each node's backward function, accumulates
// gradients into the leaves (and intermediate nodes), then frees the graph (inputs and backward fns).
// Copies of a Var share the node.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace lowbit {

class Var;
// Called with the gradient of the node's output; it calls inputs[i].add_grad(...) for each input that
// requires_grad(). Capture what the backward pass needs (saved tensors) by value in the lambda.
using BackwardFn = std::function<void(const Tensor& grad_out, std::vector<Var>& inputs)>;

class Var {
 public:
  Var() = default;  // undefined
  explicit Var(Tensor value, bool requires_grad = false);

  // Builds an op's output node. requires_grad() is true if grad mode is on and any input requires grad;
  // otherwise the inputs and fn are dropped (no graph is kept).
  static Var make(Tensor value, std::vector<Var> inputs, BackwardFn fn);

  bool defined() const { return static_cast<bool>(node_); }
  const Tensor& value() const;
  Tensor& value();  // for in-place parameter updates by optimizers (no graph effect)
  const Shape& shape() const { return value().shape(); }
  bool requires_grad() const;
  void set_requires_grad(bool on);
  bool has_grad() const;
  const Tensor& grad() const;  // throws if !has_grad()
  Tensor& grad();
  void zero_grad();            // drops the gradient (has_grad() becomes false)
  void add_grad(const Tensor& g);  // accumulate; shape must equal value's shape
  Var detach() const;          // same value (shared storage), no graph, requires_grad false

  // Backpropagates from this node. The no-argument form requires a 1-element value and seeds 1.
  void backward();
  void backward(const Tensor& grad_out, bool retain_graph = false);

  const std::string& name() const;  // optional, for summaries and error messages
  void set_name(std::string name);
  const void* id() const { return node_.get(); }

 private:
  struct Node;
  std::shared_ptr<Node> node_;
};

// Grad mode: while a NoGradGuard is alive on this thread, ops record no graph.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace lowbit
