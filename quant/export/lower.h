// From a trained model (a zoo model, quantized or not, in eval mode) to its deployable op list
// (quant/export/deploy_graph.h):
//   1. walk the module tree in execution order into primitive steps (weight layer, BatchNorm, activation, max
//      pool, global average pool, flatten, option-A shortcut, residual add; dropout and identity vanish);
//   2. fuse each weight layer with the BatchNorm, residual add and activation that follow it;
//   3. choose each weight layer's epilogue: thresholds (fold_bn.h) when every consumer of its output, through
//      max pools and flattens only, is a layer that quantizes its input with one and the same quantizer; an
//      fp32 epilogue otherwise (and for codes of more than kMaxThresholdBits bits, where 2^bits − 1 thresholds
//      per channel cost more bytes and time than a float affine), with a quantize op in front of each quantizing
//      consumer;
//   4. take each quantized layer's weights as integer values and scales (the scheme's own weight rule) and its
//      input quantizer as the fvec formula (checked against the scheme's own activation rule).
// Models or layers the deployed form cannot express are refused with lowbit::Error naming the layer and the
// reason: a module type the walk does not know, XNOR-Net's input scaling K, grouped convolutions on the integer
// route, an LSQ step or image-input range that was never calibrated, accumulators beyond int32.
#pragma once
#include <string>

#include "nn/module.h"
#include "nn/zoo/zoo.h"
#include "quant/export/deploy_graph.h"

namespace lowbit::quant::deploy {

// The widest output codes a weight layer emits through integer thresholds (step 3).
inline constexpr int kMaxThresholdBits = 4;

// model: the zoo model `model_name` built for `options` (input shape, classes). Puts the model in eval mode.
DeployGraph lower_model(nn::Module& model, const std::string& model_name, const nn::ModelOptions& options);

}  // namespace lowbit::quant::deploy
