// Define-by-run autograd (after flashlight's fl::Variable): each Var is a handle to a Node; ops create nodes
// with Var::make, recording their inputs and a backward closure. backward() sorts the reachable graph once
// (iterative DFS, so deep graphs cannot overflow the stack), then runs the closures in reverse topological
// order so every node's gradient is complete before it is propagated further.
#include "engine/var.h"

#include <unordered_set>
#include <utility>

#include "engine/error.h"

namespace lowbit {

struct Var::Node {
  Tensor value;
  Tensor grad;  // undefined until the first add_grad
  std::vector<Var> inputs;
  BackwardFn fn;
  bool requires_grad = false;
  std::string name;

  // Releasing a long chain through nested shared_ptr destructors would recurse once per node; unlink the
  // inputs iteratively instead so dropping a 100k-node graph is safe.
  ~Node() {
    std::vector<std::shared_ptr<Node>> stack;
    auto take = [&stack](std::vector<Var>& in) {
      for (Var& v : in)
        if (v.node_ && v.node_.use_count() == 1) stack.push_back(std::move(v.node_));
      in.clear();
    };
    take(inputs);
    while (!stack.empty()) {
      std::shared_ptr<Node> n = std::move(stack.back());
      stack.pop_back();
      take(n->inputs);
    }  // n dies here with no inputs left
  }
};

namespace {
thread_local bool g_grad_enabled = true;

void add_into(Tensor& dst, const Tensor& src) {
  float* __restrict d = dst.data();
  const float* __restrict s = src.data();
  const int64_t n = dst.numel();
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = prev_; }

Var::Var(Tensor value, bool requires_grad) : node_(std::make_shared<Node>()) {
  node_->value = std::move(value);
  node_->requires_grad = requires_grad;
}

Var Var::make(Tensor value, std::vector<Var> inputs, BackwardFn fn) {
  Var out(std::move(value), false);
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Var& v : inputs) any = any || (v.defined() && v.node_->requires_grad);
  if (!any) return out;
  out.node_->requires_grad = true;
  out.node_->inputs = std::move(inputs);
  out.node_->fn = std::move(fn);
  return out;
}

const Tensor& Var::value() const {
  LOWBIT_CHECK(node_, "Var::value: undefined Var");
  return node_->value;
}
Tensor& Var::value() {
  LOWBIT_CHECK(node_, "Var::value: undefined Var");
  return node_->value;
}
bool Var::requires_grad() const { return node_ && node_->requires_grad; }
void Var::set_requires_grad(bool on) {
  LOWBIT_CHECK(node_, "Var::set_requires_grad: undefined Var");
  node_->requires_grad = on;
}
bool Var::has_grad() const { return node_ && node_->grad.defined(); }

const Tensor& Var::grad() const {
  LOWBIT_CHECK(has_grad(), "Var::grad: '{}' has no gradient", node_ ? node_->name : std::string("<undefined>"));
  return node_->grad;
}
Tensor& Var::grad() {
  LOWBIT_CHECK(has_grad(), "Var::grad: '{}' has no gradient", node_ ? node_->name : std::string("<undefined>"));
  // The stored gradient may share storage with another node's gradient (add_grad stores without copying);
  // a caller that mutates it must own it.
  if (!node_->grad.storage_unique()) node_->grad = node_->grad.clone();
  return node_->grad;
}
void Var::zero_grad() {
  if (node_) node_->grad = Tensor();
}

void Var::add_grad(const Tensor& g) {
  LOWBIT_CHECK(node_, "Var::add_grad: undefined Var");
  LOWBIT_CHECK(g.shape() == node_->value.shape(), "add_grad: gradient of shape {} for '{}' of shape {}",
               g.shape().str(), node_->name, node_->value.shape().str());
  Tensor& cur = node_->grad;
  if (!cur.defined()) {
    cur = g;  // shared, copied lazily when accumulated into or mutated
  } else if (cur.storage_unique()) {
    add_into(cur, g);
  } else {
    Tensor sum = Tensor::empty(cur.shape());
    const float* __restrict a = cur.data();
    const float* __restrict b = g.data();
    float* __restrict o = sum.data();
    for (int64_t i = 0, n = sum.numel(); i < n; ++i) o[i] = a[i] + b[i];
    cur = std::move(sum);
  }
}

Var Var::detach() const {
  LOWBIT_CHECK(node_, "Var::detach: undefined Var");
  Var v(node_->value, false);
  v.node_->name = node_->name;
  return v;
}

void Var::backward() {
  LOWBIT_CHECK(node_, "backward: undefined Var");
  LOWBIT_CHECK(node_->value.numel() == 1,
               "backward: implicit seed needs a 1-element output, got shape {} (pass a gradient)",
               node_->value.shape().str());
  backward(Tensor::full(node_->value.shape(), 1.0f), false);
}

void Var::backward(const Tensor& grad_out, bool retain_graph) {
  LOWBIT_CHECK(node_, "backward: undefined Var");
  LOWBIT_CHECK(node_->requires_grad, "backward: '{}' does not require grad (no graph was recorded)",
               node_->name);
  // Iterative post-order DFS: a node is emitted after all of its inputs, so the reversed list is a valid
  // order for propagating gradients from the root to the leaves.
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack;
  stack.emplace_back(node_.get(), 0);
  seen.insert(node_.get());
  while (!stack.empty()) {
    auto& [n, next] = stack.back();
    if (next < n->inputs.size()) {
      Node* in = n->inputs[next++].node_.get();
      if (in && in->requires_grad && seen.insert(in).second) stack.emplace_back(in, 0);
    } else {
      order.push_back(n);
      stack.pop_back();
    }
  }
  // Gradients of interior nodes belong to one backward pass (only leaves accumulate across passes), otherwise
  // a retained graph would re-propagate the previous pass's gradient a second time.
  for (Node* n : order)
    if (n->fn) n->grad = Tensor();
  add_grad(grad_out);
  // Keep the nodes alive while walking even if freeing the graph drops the last reference to them.
  std::vector<Var> keep;
  if (!retain_graph) {
    keep.reserve(order.size());
    for (Node* n : order)
      for (Var& v : n->inputs) keep.push_back(v);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (n->fn && n->grad.defined()) n->fn(n->grad, n->inputs);
    if (!retain_graph) {
      n->inputs.clear();
      n->fn = nullptr;  // releases the tensors the closure saved
    }
  }
}

const std::string& Var::name() const {
  static const std::string empty;
  return node_ ? node_->name : empty;
}
void Var::set_name(std::string name) {
  LOWBIT_CHECK(node_, "Var::set_name: undefined Var");
  node_->name = std::move(name);
}

}  // namespace lowbit
