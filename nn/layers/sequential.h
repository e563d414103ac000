// Sequential: runs its children in registration order. Children are named by the caller ("conv1") or by
// position ("0", "1", ...). forward_range runs a contiguous section, which sectional distillation (DCQ) uses
// to train a network stage by stage.
#pragma once
#include <string>

#include "nn/module.h"

namespace lowbit::nn {

class Sequential : public Module {
 public:
  explicit Sequential(std::string type_name = "Sequential") : Module(std::move(type_name)) {}
  Sequential& add(ModulePtr m);  // named by its position
  Sequential& add(const std::string& name, ModulePtr m);
  size_t size() const { return children().size(); }
  Module& at(size_t i) const;
  size_t index_of(const std::string& name) const;  // throws listing the children

  Var forward(const Var& x) override;
  Var forward_range(const Var& x, size_t begin, size_t end);  // children [begin, end)
};

}  // namespace lowbit::nn
