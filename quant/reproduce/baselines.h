// `lowbit reproduce baselines`: the issue-4 baseline table. For LeNet-5 on MNIST and Fashion-MNIST and ResNet-20 on
// Fashion-MNIST: fp32; W1A1 with BNN, XNOR and DoReFa; DoReFa W1A2, W2A2, W4A4; TWN ternary weights with 2-bit and
// fp32 activations; LSQ and PACT at W2A2 and W4A4 — all with the first and last layers in fp32 — and DoReFa W1A1,
// W2A2, W4A4 with the first and last layers quantized too. Every quantized cell starts from the fp32 model of the
// same seed. The epoch budget (and why it is what it is) is in baselines.cpp and in the table's notes.
#pragma once
#include "quant/reproduce/grid.h"

namespace lowbit::quant::reproduce {

// full: 3 seeds, about 50 min on an idle 2-core machine; quick: LeNet-5 only, 1 seed, 1 epoch, about 2.5 min.
Grid make_baselines_grid(bool quick);

}  // namespace lowbit::quant::reproduce
