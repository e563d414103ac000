// A plain interpreter of the deployable op list (deploy_graph.h): scalar loops, one sample at a time, integer
// accumulators for the integer route. It is the yardstick the folding is tested with (its logits against the
// training graph's eval-mode logits) and what the runtime's answers are compared with; it is not meant to be
// fast.
#pragma once
#include <cstdint>
#include <vector>

#include "quant/export/deploy_graph.h"

namespace lowbit::quant::deploy {

struct ReferenceOptions {
  // Apply the fp32 epilogue as one scale and bias (folded_scale/folded_bias) instead of the training graph's
  // two steps (rescale, then BatchNorm): what a runtime with a single-affine epilogue computes.
  bool one_step_affine = false;
};

// One value of the interpreter: f32 data or integer codes.
struct RefTensor {
  std::vector<float> f;
  std::vector<int32_t> c;
};

// Logits [num_classes] for one normalised image x [in_c·in_h·in_w]. values_out (optional) receives every value.
std::vector<float> reference_run(const DeployGraph& g, const float* x, const ReferenceOptions& o = {},
                                 std::vector<RefTensor>* values_out = nullptr);

}  // namespace lowbit::quant::deploy
