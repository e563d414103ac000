#include "nn/layers/sequential.h"

#include "engine/error.h"

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
  for (size_t i = begin; i < end; ++i) y = call_child(i, y);
  return y;
}

}  // namespace lowbit::nn
