// Pointwise activation layers. Low-bit methods choose the hidden activation: ReLU (fp32 baselines), HardTanh
// (BNN: its gradient window is the clipped STE of sign), Clip(0, 1) (DoReFa: activations are clipped to [0, 1]
// before k-bit quantization).
#pragma once
#include "engine/ops.h"
#include "nn/module.h"

namespace lowbit::nn {

enum class Activation { relu, hardtanh, clip01, identity };
const char* activation_name(Activation a);  // "relu", "hardtanh", "clip01", "identity"
Activation parse_activation(const std::string& name);  // throws listing the valid names
ModulePtr make_activation(Activation a);

class ReLU final : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Var forward(const Var& x) override;
};

class HardTanh final : public Module {
 public:
  explicit HardTanh(float lo = -1.0f, float hi = 1.0f);
  Var forward(const Var& x) override;
  std::string describe() const override;
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  float lo_, hi_;
};

class Clip final : public Module {
 public:
  Clip(float lo, float hi);
  Var forward(const Var& x) override;
  std::string describe() const override;
  float lo() const { return lo_; }
  float hi() const { return hi_; }

 private:
  float lo_, hi_;
};

class Identity final : public Module {
 public:
  Identity() : Module("Identity") {}
  Var forward(const Var& x) override { return x; }
};

// Sets e.act (and its bounds) to compute module m when m is one of the activations above, for layers that fuse
// a BatchNorm with the activation after it; false (e untouched) for any other module.
bool activation_epilogue(const Module& m, BatchNormEpilogue& e);

}  // namespace lowbit::nn
