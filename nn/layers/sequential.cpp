#include "nn/layers/sequential.h"

#include "engine/error.h"
#include "nn/layers/activation.h"
#include "nn/layers/batchnorm.h"

namespace lowbit::nn {

Sequential& Sequential::add(ModulePtr m) { return add(std::to_string(size()), std::move(m)); }

Sequential& Sequential::add(const std::string& name, ModulePtr m) {
  register_module(name, std::move(m));
  return *this;
}

Module& Sequential::at(size_t i) const {
  LOWBIT_CHECK(i < size(), "{}: child index {} out of range (size {})", type_name(), i, size());
  return child(i);
}

size_t Sequential::index_of(const std::string& name) const {
  std::string names;
  for (size_t i = 0; i < size(); ++i) {
    if (children()[i].first == name) return i;
    names += (i ? ", " : "") + children()[i].first;
  }
  LOWBIT_CHECK(false, "{}: no child '{}' (children: {})", type_name(), name, names);
  return 0;
}

Var Sequential::forward(const Var& x) { return forward_range(x, 0, size()); }

Var Sequential::forward_range(const Var& x, size_t begin, size_t end) {
  LOWBIT_CHECK(begin <= end && end <= size(), "{}: bad section [{}, {}) of {} children", type_name(), begin, end,
               size());
  Var y = x;
  for (size_t i = begin; i < end; ++i) {
    // A BatchNorm followed by an activation it can compute runs as one op (batch_norm's epilogue), unless
    // someone observes the outputs or the BatchNorm's own output is tapped; a tap on the activation gets the
    // fused output.
    BatchNorm* bn = i + 1 < end ? fusable_batch_norm(child(i)) : nullptr;
    BatchNormEpilogue e;
    if (bn && activation_epilogue(child(i + 1), e)) {
      y = call_child_with(i, [&](Module&) { return bn->forward_fused(y, e); });
      child(i + 1).record_output(y);
      ++i;
      continue;
    }
    y = call_child(i, y);
  }
  return y;
}

}  // namespace lowbit::nn
