#include "quant/training.h"

#include "engine/ops.h"

namespace lowbit::quant {

std::vector<std::pair<std::string, QuantizedLayer*>> quantized_layers(const nn::Module& root) {
  std::vector<std::pair<std::string, QuantizedLayer*>> out;
  for (const auto& [name, m] : root.named_modules())
    if (auto* q = dynamic_cast<QuantizedLayer*>(m)) out.emplace_back(name, q);
  return out;
}

void after_optimizer_step(const nn::Module& root) {
  for (auto& [name, q] : quantized_layers(root)) q->after_step();
}

void bump_weight_versions(const nn::Module& root) {
  for (auto& [name, q] : quantized_layers(root)) q->bump_version();
}

Var regularization_loss(const nn::Module& root) {
  Var total;
  for (auto& [name, q] : quantized_layers(root)) {
    const Var p = q->penalty();
    if (!p.defined()) continue;
    total = total.defined() ? add(total, p) : p;
  }
  return total;
}

void set_path(const nn::Module& root, QPath path) {
  for (auto& [name, q] : quantized_layers(root)) q->set_path(path);
}

void set_backend(const nn::Module& root, std::optional<IntBackend> backend) {
  for (auto& [name, q] : quantized_layers(root)) q->set_backend(backend);
}

}  // namespace lowbit::quant
