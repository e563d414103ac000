// Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1 − p);
// identity in eval. The layer owns its random stream (pass a forked Rng so runs stay reproducible).
#pragma once
#include "engine/rng.h"
#include "nn/module.h"

namespace lowbit::nn {

class Dropout final : public Module {
 public:
  Dropout(float p, Rng rng);
  Var forward(const Var& x) override;
  std::string describe() const override;
  float p() const { return p_; }
  Rng& rng() { return rng_; }  // for checkpoints that want bit-exact resume

 private:
  float p_;
  Rng rng_;
};

}  // namespace lowbit::nn
