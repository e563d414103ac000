// The deployable op list (deploy_graph.h) as an .lbm file, through the runtime's host-side writer
// (runtime/lbm_writer.h; byte layout in runtime/FORMAT.md), and as a C header for firmware builds.
//
// Mapping: f32 values → f32 activations; binary codes → b1, unsigned codes → u8 activations (scale, zero
// point); integer weights → their scheme codes with the codes' zero point and per-channel scale (the writer
// packs them canonically: b1, t2, i2/i4/i8); thresholds → the runtime's epilogue on its accumulator
//   T = Σ 2·(c_w − wzero)·(c_x − azero)  =  f·acc,   f = 1 when wzero is a half-integer (acc already counts
// halves, deploy_graph.h), else 2;
// a binary output uses the "bits" epilogue: bit = (T < thr) XOR flip, with thr = f·t, flip 0 for dir +1
// (+1 iff acc ≥ t) and thr = f·(t + 1), flip 1 for dir −1 (+1 iff acc ≤ t ⇔ ¬(acc ≥ t + 1)); a k-bit output
// the "thresholds" epilogue with f·t[j] and flip = (dir = −1). The never/always sentinels stay INT32_MAX/MIN.
// What the format cannot hold (an fp32 convolution, a grouped layer on codes the runtime does not take) is
// refused with lowbit::Error naming the layer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quant/export/deploy_graph.h"

namespace lowbit::quant::deploy {

// mean/std: the input normalisation the model was trained with (recorded in the file; may be empty).
std::vector<uint8_t> write_lbm(const DeployGraph& g, const std::vector<float>& mean, const std::vector<float>& std);

// The arena bytes the runtime needs for this file at batch 1 (lowbit_model_init + lowbit_arena_size).
uint64_t lbm_arena_bytes(const std::vector<uint8_t>& lbm);

}  // namespace lowbit::quant::deploy
