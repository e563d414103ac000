#include "nn/layers/activation.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::nn {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::hardtanh: return "hardtanh";
    case Activation::clip01: return "clip01";
    case Activation::identity: return "identity";
  }
  return "?";
}

Activation parse_activation(const std::string& name) {
  for (Activation a : {Activation::relu, Activation::hardtanh, Activation::clip01, Activation::identity})
    if (name == activation_name(a)) return a;
  LOWBIT_CHECK(false, "unknown activation '{}' (valid: relu, hardtanh, clip01, identity)", name);
  return Activation::relu;
}

ModulePtr make_activation(Activation a) {
  switch (a) {
    case Activation::relu: return std::make_shared<ReLU>();
    case Activation::hardtanh: return std::make_shared<HardTanh>(-1.0f, 1.0f);
    case Activation::clip01: return std::make_shared<Clip>(0.0f, 1.0f);
    case Activation::identity: return std::make_shared<Identity>();
  }
  LOWBIT_ASSERT(false, "unhandled activation {}", int(a));
  return nullptr;
}

Var ReLU::forward(const Var& x) { return relu(x); }

HardTanh::HardTanh(float lo, float hi) : Module("HardTanh"), lo_(lo), hi_(hi) {
  LOWBIT_CHECK(lo < hi, "HardTanh: lo ({}) must be below hi ({})", lo, hi);
}
Var HardTanh::forward(const Var& x) { return hardtanh(x, lo_, hi_); }
std::string HardTanh::describe() const { return fmt::format("[{}, {}]", lo_, hi_); }

Clip::Clip(float lo, float hi) : Module("Clip"), lo_(lo), hi_(hi) {
  LOWBIT_CHECK(lo < hi, "Clip: lo ({}) must be below hi ({})", lo, hi);
}
Var Clip::forward(const Var& x) { return clip(x, lo_, hi_); }
std::string Clip::describe() const { return fmt::format("[{}, {}]", lo_, hi_); }

bool activation_epilogue(const Module& m, BatchNormEpilogue& e) {
  using Act = BatchNormEpilogue::Act;
  if (dynamic_cast<const ReLU*>(&m)) {
    e.act = Act::relu;
  } else if (auto* h = dynamic_cast<const HardTanh*>(&m)) {
    e.act = Act::clamp, e.lo = h->lo(), e.hi = h->hi();
  } else if (auto* c = dynamic_cast<const Clip*>(&m)) {
    e.act = Act::clamp, e.lo = c->lo(), e.hi = c->hi();
  } else if (dynamic_cast<const Identity*>(&m)) {
    e.act = Act::none;
  } else {
    return false;
  }
  return true;
}

}  // namespace lowbit::nn
