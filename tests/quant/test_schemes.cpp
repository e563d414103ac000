// The scheme registry walked row by row: every scheme's defaults are valid, validation accepts exactly the
// bits its row allows, a QConv2d and a QLinear build and run forward and backward at its default bits (with the
// learned parameters, after-step hook and penalty the row names), and the suggested activation is the row's.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "quant/factory.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"
#include "quant/schemes.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {
bool accepted(const Precision& p) {
  try {
    validate(p, "test");
    return true;
  } catch (const Error&) {
    return false;
  }
}

Tensor ramp(const Shape& s, float lo, float hi) {
  Tensor t = Tensor::zeros(s);
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) t.data()[i] = lo + (hi - lo) * static_cast<float>((i * 7919) % n) / static_cast<float>(n);
  return t;
}

// Forward and backward through a layer at the row's default bits; every parameter gets a finite gradient.
template <class Layer>
void train_step(Layer& layer, const Tensor& x, const SchemeTraits& t) {
  Var xv(x, true);
  Var y = layer(xv);
  CHECK(y.value().numel() > 0);
  Var loss = sum(y);
  const Var pen = regularization_loss(layer);
  const bool has_penalty = t.penalty != nullptr;
  CHECK(pen.defined() == has_penalty);
  if (pen.defined()) loss = add(loss, pen);
  loss.backward();
  CHECK(xv.has_grad());
  for (const auto& [name, v] : layer.named_parameters()) {
    CAPTURE(name);
    REQUIRE(v.has_grad());
    for (float g : v.grad().to_vector()) CHECK(std::isfinite(g));
  }
  const uint64_t before = layer.version();
  after_optimizer_step(layer);
  CHECK(layer.version() == before + 1);
}

bool has_param(const nn::Module& m, const std::string& name) {
  for (const auto& [n, v] : m.named_parameters())
    if (n == name) return true;
  return false;
}
}  // namespace

TEST_CASE("scheme registry: every row is consistent, validated exactly, and trains") {
  int rows = 0;
  for (const SchemeTraits* t = scheme_table_begin(); t != scheme_table_end(); ++t, ++rows) {
    CAPTURE(t->name);
    CHECK(&scheme_traits(t->scheme) == t);
    CHECK(parse_scheme(t->name) == t->scheme);
    CHECK(default_precision(t->scheme) == t->defaults);
    CHECK(accepted(t->defaults));
    // Validation accepts exactly the widths of the row (each side with the other at its default).
    for (int b = 0; b <= 33; ++b) {
      CAPTURE(b);
      CHECK(accepted(Precision{b, t->defaults.abits, t->scheme}) == t->wbits.valid(b));
      CHECK(accepted(Precision{t->defaults.wbits, b, t->scheme}) == t->abits.valid(b));
    }
    CHECK(t->eight_bit == scheme_traits(t->eight_bit).scheme);
    CHECK(scheme_traits(t->eight_bit).wbits.valid(8));
    // The suggested activation is the row's when activations are quantized.
    const PrecisionConfig cfg = PrecisionConfig::uniform(t->scheme, t->defaults.wbits, t->defaults.abits);
    CHECK(suggested_activation(cfg) ==
          (t->defaults.quantizes_activations() ? t->hidden_activation : nn::Activation::relu));
    if (t->scheme == Scheme::fp32) {
      CHECK_FALSE((t->weight != nullptr));
      CHECK_FALSE((t->activation != nullptr));
      continue;
    }
    REQUIRE((t->weight != nullptr));
    REQUIRE((t->activation != nullptr));

    Rng rng(5);
    QConv2d conv(nn::Conv2dOptions{3, 4, 3, 3, 1, 1, 1, true}, t->defaults, QuantOptions{}, rng);
    CHECK(has_param(conv, "w_step") == bool(t->learns & kLearnsWeightStep));
    CHECK(has_param(conv, "a_step") == (bool(t->learns & kLearnsActStep) && t->defaults.quantizes_activations()));
    CHECK(has_param(conv, "alpha") == (bool(t->learns & kLearnsAlpha) && t->defaults.quantizes_activations()));
    train_step(conv, ramp(Shape{2, 3, 6, 6}, -1.5f, 1.5f), *t);
    QLinear lin(10, 3, true, t->defaults, QuantOptions{}, rng);
    train_step(lin, ramp(Shape{4, 10}, -1.5f, 1.5f), *t);
    if (t->after_step) {  // BNN: the hook clamps the shadow weights
      lin.weight().value().data()[0] = 3.0f;
      after_optimizer_step(lin);
      CHECK(lin.weight().value().data()[0] <= 1.0f);
    }
  }
  CHECK(rows == 7);
  CHECK(scheme_names().size() == static_cast<size_t>(rows));
}
