// Hooks a training loop needs for quantized models (the Trainer's after-step hook calls after_optimizer_step):
//   * after every optimizer step: BNN clamps its shadow weights to [−1, 1], every quantized layer bumps its
//     weight version so the packed kernel weights are rebuilt on the next forward;
//   * the loss gets regularization_loss(model) added (PACT's L2 decay on α);
//   * after loading a checkpoint: bump_weight_versions (the layers also detect changed weights by hash).
#pragma once
#include <optional>
#include <vector>

#include "engine/var.h"
#include "nn/module.h"
#include "quant/layers/quantized_layer.h"

namespace lowbit::quant {

// Every quantized layer of a model (pre-order) with its dotted name.
std::vector<std::pair<std::string, QuantizedLayer*>> quantized_layers(const nn::Module& root);
void after_optimizer_step(const nn::Module& root);
void bump_weight_versions(const nn::Module& root);
// Σ of the layers' penalties as a rank-0 Var, or an undefined Var when no layer has one.
Var regularization_loss(const nn::Module& root);
void set_path(const nn::Module& root, QPath path);
void set_backend(const nn::Module& root, std::optional<IntBackend> backend);

}  // namespace lowbit::quant
