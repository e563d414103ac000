// Shared by the deploy tests: a zoo model at a precision, calibrated on one training-mode batch of synthetic
// images and given random BatchNorm statistics and affine parameters (a third of the γ negative), and the
// normalised probe images and eval-mode logits to compare with.
#pragma once
#include <cstring>
#include <memory>
#include <string>

#include "engine/ops.h"
#include "engine/rng.h"
#include "nn/layers/batchnorm.h"
#include "quant/quantized_model.h"

namespace lowbit::test {

struct Prepared {
  std::shared_ptr<nn::Module> model;
  nn::ModelOptions options;
};

// Normalised images: smooth blobs on noise, in about [−0.5, 2.8] like a normalised Fashion-MNIST image.
inline Tensor probe_images(int n, const nn::ModelOptions& o, uint64_t seed) {
  Rng rng(seed);
  Tensor x = Tensor::empty(Shape{n, o.in_channels, o.height, o.width});
  const int64_t per = int64_t(o.in_channels) * o.height * o.width;
  for (int i = 0; i < n; ++i) {
    const float cy = rng.uniform(4.0f, float(o.height) - 4), cx = rng.uniform(4.0f, float(o.width) - 4);
    for (int64_t j = 0; j < per; ++j) {
      const int64_t yx = j % (int64_t(o.height) * o.width);
      const float dy = float(yx / o.width) - cy, dx = float(yx % o.width) - cx;
      const float pix = std::min(255.0f, 255.0f * std::exp(-(dy * dy + dx * dx) / 30.0f) + rng.uniform(0.0f, 40.0f));
      x[i * per + j] = (std::nearbyint(pix) / 255.0f - 0.286f) / 0.353f;
    }
  }
  return x;
}

inline Prepared prepare_model(const std::string& name, const quant::PrecisionConfig& cfg, uint64_t seed) {
  nn::ModelOptions mo;
  mo.seed = seed;
  quant::QuantSpec spec;
  spec.precision = cfg;
  const quant::BuiltModel b = quant::build_model(name, mo, spec);
  Prepared p{b.model, b.options};
  p.model->train();
  {
    NoGradGuard ng;
    (*p.model)(Var(probe_images(8, b.options, seed + 100)));
  }
  Rng rng(seed + 200);
  int k = 0;
  for (const auto& [n, m] : p.model->named_modules()) {
    auto* bn = dynamic_cast<nn::BatchNorm*>(m);
    if (!bn) continue;
    float* g = bn->weight().value().data();
    float* be = bn->bias().value().data();
    float* mu = const_cast<float*>(bn->running_mean().data());
    float* var = const_cast<float*>(bn->running_var().data());
    for (int c = 0; c < bn->channels(); ++c, ++k) {
      g[c] = rng.uniform(0.3f, 1.5f) * (k % 3 == 1 ? -1.0f : 1.0f);
      be[c] = rng.uniform(-0.3f, 0.6f);
      mu[c] *= rng.uniform(0.8f, 1.2f);
      var[c] *= rng.uniform(0.7f, 1.4f);
    }
  }
  p.model->eval();
  return p;
}

inline Tensor eval_logits(nn::Module& model, const Tensor& x) {
  model.eval();
  NoGradGuard ng;
  return model(Var(x)).value();
}

}  // namespace lowbit::test
