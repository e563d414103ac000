#include "nn/layers/dropout.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::nn {

Dropout::Dropout(float p, Rng rng) : Module("Dropout"), p_(p), rng_(rng) {
  LOWBIT_CHECK(p >= 0.0f && p < 1.0f, "Dropout: p must be in [0, 1), got {}", p);
}

Var Dropout::forward(const Var& x) { return dropout(x, p_, is_training(), rng_); }

std::string Dropout::describe() const { return fmt::format("p={}", p_); }

}  // namespace lowbit::nn
