// Quantized layers: the kernel path (the integer layer tier, tested alone in tests/kernels/test_qlayer*.cpp)
// against the fake-quant path (outputs within 1e-5 of the output's scale, and the same gradients) for every layer type
// and precision; the packed-weight cache; BNN's clamp; the zoo factory.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/rng.h"
#include "quant/factory.h"
#include "quant/layers/int_backend.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {

Tensor random_tensor(const Shape& s, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

// max |a − b| / max|b| over the tensor (the outputs' own scale: near-zero outputs are sums that cancel).
double scaled_error(const Tensor& a, const Tensor& b) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    num = std::max(num, double(std::fabs(a[i] - b[i])));
    den = std::max(den, double(std::fabs(b[i])));
  }
  return den > 0 ? num / den : num;
}

struct Case {
  Precision p;
  float lo, hi;  // input range
};

std::vector<Case> precisions() {
  return {
      {{1, 1, Scheme::dorefa}, -0.5f, 1.5f}, {{1, 2, Scheme::dorefa}, -0.5f, 1.5f},
      {{2, 2, Scheme::dorefa}, -0.5f, 1.5f}, {{3, 4, Scheme::dorefa}, -0.5f, 1.5f},
      {{4, 8, Scheme::dorefa}, -0.5f, 1.5f}, {{8, 8, Scheme::dorefa}, -0.5f, 1.5f},
      {{2, 32, Scheme::dorefa}, -1.0f, 1.0f}, {{1, 1, Scheme::bnn}, -1.5f, 1.5f},
      {{1, 1, Scheme::xnor}, -1.5f, 1.5f},    {{1, 32, Scheme::xnor}, -1.5f, 1.5f},
      {{2, 4, Scheme::twn}, -0.5f, 1.5f},     {{2, 1, Scheme::twn}, -0.5f, 1.5f},
      {{2, 8, Scheme::twn}, -0.5f, 1.5f},     {{2, 2, Scheme::lsq}, -1.0f, 3.0f},
      {{4, 4, Scheme::lsq}, -1.0f, 3.0f},     {{8, 8, Scheme::lsq}, -1.0f, 3.0f},
      {{3, 5, Scheme::lsq}, -1.0f, 3.0f},     {{2, 2, Scheme::pact}, -2.0f, 10.0f},
      {{4, 4, Scheme::pact}, -2.0f, 10.0f},
      // The first layer under policy "q": 8-bit image codes with a zero point (padding = the zero point).
      {{1, 8, Scheme::dorefa, true}, -0.8f, 2.0f},  {{1, 8, Scheme::bnn, true}, -0.8f, 2.0f},
      {{2, 8, Scheme::twn, true}, -0.8f, 2.0f},     {{4, 8, Scheme::lsq, true}, -0.8f, 2.0f},
  };
}

// Backends able to take this precision's codes (besides the automatic choice).
std::vector<IntBackend> backends_for(const Precision& p) {
  const bool bin_act = p.abits == 1 && (p.scheme == Scheme::bnn || p.scheme == Scheme::xnor);
  CodeFormat wf = CodeFormat::uint;
  int wb = p.wbits;
  if (p.scheme == Scheme::bnn || p.scheme == Scheme::xnor || (p.wbits == 1 && p.scheme != Scheme::lsq))
    wf = CodeFormat::binary;
  if (p.scheme == Scheme::twn) wf = CodeFormat::ternary;
  if (p.scheme == Scheme::lsq) wf = CodeFormat::sint;
  std::vector<IntBackend> out;
  for (IntBackend b : {IntBackend::reference, IntBackend::bgemm, IntBackend::tgemm, IntBackend::bitserial,
                       IntBackend::qgemm})
    if (backend_supports(b, wf, wb, bin_act ? ActKind::binary : ActKind::uint, p.abits)) out.push_back(b);
  return out;
}

struct PathResult {
  Tensor y, gx, gw;
};

template <class Layer>
PathResult run_path(Layer& layer, const Tensor& x, QPath path, std::optional<IntBackend> backend) {
  layer.set_path(path);
  layer.set_backend(backend);
  layer.zero_grad();
  Var xv(x.clone(), true);
  Var y = layer(xv);
  Tensor g = random_tensor(y.shape(), 99, -1.0f, 1.0f);
  y.backward(g);
  return {y.value().clone(), xv.grad().clone(), layer.weight().grad().clone()};
}

template <class Layer>
void check_paths_agree(Layer& layer, const Tensor& x, const std::string& what) {
  const PathResult fake = run_path(layer, x, QPath::fake, std::nullopt);
  std::vector<std::optional<IntBackend>> bs = {std::nullopt};
  for (IntBackend b : backends_for(layer.precision())) bs.push_back(b);
  for (const auto& b : bs) {
    const PathResult ker = run_path(layer, x, QPath::kernel, b);
    INFO(what << " backend " << std::string(b ? backend_name(*b) : "auto"));
    const Precision& p = layer.precision();
    if (p.quantizes_weights() && p.quantizes_activations()) {  // the kernels really ran
      REQUIRE(layer.last_backend().has_value());
      if (b) CHECK(*layer.last_backend() == *b);
    } else {
      CHECK(!layer.last_backend().has_value());  // fp32 activations: no integer product exists
    }
    CHECK(scaled_error(ker.y, fake.y) <= 1e-5);
    CHECK(scaled_error(ker.gx, fake.gx) <= 1e-5);
    CHECK(scaled_error(ker.gw, fake.gw) <= 1e-5);
  }
}

}  // namespace

TEST_CASE("QConv2d: kernel path == fake-quant path for every precision and geometry") {
  struct Geo {
    int cin, cout, k, stride, pad, groups, hw;
  };
  const std::vector<Geo> geos = {{3, 8, 3, 1, 1, 1, 7}, {8, 16, 3, 2, 1, 1, 9}, {4, 6, 5, 1, 0, 1, 8},
                                 {16, 8, 1, 1, 0, 1, 5}, {6, 6, 3, 1, 1, 6, 6},  {4, 8, 3, 1, 1, 2, 5}};
  for (const Case& c : precisions()) {
    for (const Geo& g : geos) {
      Rng rng(3);
      nn::Conv2dOptions o{g.cin, g.cout, g.k, g.k, g.stride, g.pad, g.groups, true};
      QuantOptions qo;
      QConv2d layer(o, c.p, qo, rng);
      const Tensor x = random_tensor(Shape{3, g.cin, g.hw, g.hw}, 17, c.lo, c.hi);
      check_paths_agree(layer, x, c.p.str() + " conv k" + std::to_string(g.k) + " g" + std::to_string(g.groups));
    }
  }
}

TEST_CASE("QLinear: kernel path == fake-quant path for every precision") {
  for (const Case& c : precisions()) {
    for (int in : {10, 64, 130}) {
      Rng rng(4);
      QuantOptions qo;
      QLinear layer(in, 7, true, c.p, qo, rng);
      const Tensor x = random_tensor(Shape{5, in}, 23, c.lo, c.hi);
      check_paths_agree(layer, x, c.p.str() + " linear in=" + std::to_string(in));
    }
  }
}

TEST_CASE("QLinear: the kernel and fake paths give bit-identical bias gradients") {
  // Both backwards are engine's linear_backward (bias gradient summed over the batch in double), so the bias
  // gradient is the same float whichever path computed the forward. A batch of 300 makes a float sum drift.
  for (const Case& c : precisions()) {
    Rng rng(6);
    QuantOptions qo;
    QLinear layer(33, 9, true, c.p, qo, rng);
    Var bias;
    for (const auto& nv : layer.named_parameters())
      if (nv.first == "bias") bias = nv.second;
    REQUIRE(bias.defined());
    const Tensor x = random_tensor(Shape{300, 33}, 29, c.lo, c.hi);
    std::vector<float> grads[2];
    for (int k = 0; k < 2; ++k) {
      run_path(layer, x, k == 0 ? QPath::fake : QPath::kernel, std::nullopt);
      const Tensor gb = bias.grad();
      grads[k].assign(gb.data(), gb.data() + gb.numel());
    }
    INFO(c.p.str());
    CHECK(grads[0] == grads[1]);
  }
}

TEST_CASE("XNOR input scaling K is applied identically on both paths") {
  QuantOptions qo;
  qo.xnor_scale_activations = true;
  Rng rng(8);
  QConv2d conv(nn::Conv2dOptions{4, 5, 3, 3, 1, 1, 1, false}, Precision{1, 1, Scheme::xnor}, qo, rng);
  const Tensor x = random_tensor(Shape{2, 4, 6, 6}, 3, -1.5f, 1.5f);
  check_paths_agree(conv, x, "xnor K conv");
  // K really multiplies: without it the outputs are integers (α·dot with α from one filter) — compare to off.
  QuantOptions off;
  Rng rng2(8);
  QConv2d plain(nn::Conv2dOptions{4, 5, 3, 3, 1, 1, 1, false}, Precision{1, 1, Scheme::xnor}, off, rng2);
  {
    NoGradGuard ng;
    const Tensor a = conv(Var(x)).value(), b = plain(Var(x)).value();
    CHECK(scaled_error(a, b) > 1e-3);
  }
  Rng rng3(9);
  QLinear lin(12, 3, false, Precision{1, 1, Scheme::xnor}, qo, rng3);
  check_paths_agree(lin, random_tensor(Shape{4, 12}, 5, -1.5f, 1.5f), "xnor K linear");
}

TEST_CASE("packed weights are reused until a step bumps the version or the weights change") {
  Rng rng(1);
  QConv2d layer(nn::Conv2dOptions{4, 8, 3, 3, 1, 1, 1, false}, Precision{2, 2, Scheme::dorefa}, QuantOptions{}, rng);
  const Tensor x = random_tensor(Shape{2, 4, 6, 6}, 2, 0.0f, 1.0f);
  {
    NoGradGuard ng;
    layer(Var(x));
    layer(Var(x));
  }
  CHECK(layer.pack_count() == 1);
  Var xv(x);
  Var y = layer(xv);
  CHECK(layer.pack_count() == 1);  // same weights, same version
  sum(y).backward();
  Sgd opt(layer.parameters(), SgdOptions{0.5f});
  opt.step();
  after_optimizer_step(layer);
  CHECK(layer.version() == 2);
  Tensor after;
  {
    NoGradGuard ng;
    after = layer(Var(x)).value().clone();
  }
  CHECK(layer.pack_count() == 2);
  // Same output as the fake path with the new weights: the pack is current.
  layer.set_path(QPath::fake);
  {
    NoGradGuard ng;
    CHECK(scaled_error(after, layer(Var(x)).value()) <= 1e-5);
  }
  layer.set_path(QPath::kernel);
  // A change without a bump (a checkpoint load) is caught by the weight hash.
  layer.weight().value()[0] += 0.75f;
  {
    NoGradGuard ng;
    layer(Var(x));
  }
  CHECK(layer.pack_count() == 3);
}

TEST_CASE("bnn: the after-step hook clamps the shadow weights to [-1, 1]") {
  Rng rng(1);
  QLinear layer(6, 3, false, Precision{1, 1, Scheme::bnn}, QuantOptions{}, rng);
  layer.weight().value()[0] = 3.0f;
  layer.weight().value()[1] = -2.0f;
  after_optimizer_step(layer);
  CHECK(layer.weight().value()[0] == 1.0f);
  CHECK(layer.weight().value()[1] == -1.0f);
}

TEST_CASE("lsq and pact: steps initialise from data once, alpha decays through the penalty") {
  Rng rng(2);
  QLinear lsq(8, 4, false, Precision{4, 4, Scheme::lsq}, QuantOptions{}, rng);
  const Tensor x = random_tensor(Shape{3, 8}, 4, 0.0f, 2.0f);
  lsq(Var(x));
  const auto named = lsq.named_parameters();
  float a_step = 0;
  for (const auto& [n, v] : named)
    if (n == "a_step") a_step = v.value()[0];
  CHECK(a_step == doctest::Approx(lsq_init_step(x, 4, false)));
  lsq(Var(random_tensor(Shape{3, 8}, 5, 0.0f, 9.0f)));  // a second batch does not re-initialise
  for (const auto& [n, v] : lsq.named_parameters())
    if (n == "a_step") CHECK(v.value()[0] == a_step);
  QuantOptions qo;
  qo.pact_alpha_decay = 0.01f;
  QLinear pact(8, 4, false, Precision{4, 4, Scheme::pact}, qo, rng);
  Var pen = regularization_loss(pact);
  REQUIRE(pen.defined());
  CHECK(pen.value().item() == doctest::Approx(0.5 * 0.01 * 64.0));  // α₀ = 8
}

TEST_CASE("factory: a precision config maps onto zoo models") {
  PrecisionConfig cfg = PrecisionConfig::uniform(Scheme::dorefa, 1, 2, EdgePolicy::fp32);
  nn::ModelOptions mo;
  auto model = make_quantized_model("resnet8", mo, cfg);
  const auto qs = quantized_layers(*model);
  CHECK(!qs.empty());
  for (const auto& [name, q] : qs) CHECK(q->precision() == Precision{1, 2, Scheme::dorefa});
  CHECK(dynamic_cast<QuantizedLayer*>(&model->find("conv1")) == nullptr);  // first layer kept fp32
  CHECK(dynamic_cast<QuantizedLayer*>(&model->find("fc")) == nullptr);     // last layer kept fp32

  PrecisionConfig all = PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::q);
  auto lenet = make_quantized_model("lenet5", mo, all);
  for (const auto& [name, m] : lenet->named_modules())
    if (m->type_name() == "Conv2d" || m->type_name() == "Linear") FAIL("fp32 layer left: " << name);
  for (const auto& [name, q] : quantized_layers(*lenet))
    CHECK(q->precision() == (name == "conv1" ? Precision{1, 8, Scheme::bnn, true} : Precision{1, 1, Scheme::bnn}));
  {
    NoGradGuard ng;
    Var y = (*lenet)(Var(random_tensor(Shape{2, 1, 28, 28}, 1, -1, 1)));
    CHECK(y.shape() == Shape{2, 10});
  }
  PrecisionConfig bad = PrecisionConfig::from_json_text(R"({"scheme":"dorefa","layers":[{"match":"layer7.*","wbits":2}]})",
                                                        "bad.json");
  CHECK_THROWS_AS(make_quantized_model("resnet8", mo, bad), Error);
  bad.unmatched_is_error = false;
  std::vector<std::string> warnings;
  make_quantized_model("resnet8", mo, bad, {}, &warnings);
  CHECK(warnings.size() == 1);
  // Same seed: the quantized model starts from the fp32 model's weights.
  auto fp = nn::make_model("resnet8", mo);
  auto q = make_quantized_model("resnet8", mo, cfg, QuantModelOptions{QPath::kernel, false});
  const auto a = fp->named_parameters();
  for (const auto& [n, v] : q->named_parameters())
    for (const auto& [m, u] : a)
      if (n == m) CHECK(v.value().to_vector() == u.value().to_vector());
}

TEST_CASE("QConv2d inference from the input's sign bits equals the training-mode kernel output (bnn, xnor)") {
  // Without a graph, BNN/XNOR layers on the bconv2d route skip the activation rule and pack the input's own sign
  // bits (QuantizedLayer::sign_bits_suffice). Inputs include exact zeros (sign(0) = +1) and negative zeros.
  struct Geo {
    int cin, cout, k, stride, pad, hw;
  };
  for (Scheme sc : {Scheme::bnn, Scheme::xnor})
    for (const Geo& g : std::vector<Geo>{{3, 8, 3, 1, 1, 7}, {16, 8, 3, 2, 1, 9}, {64, 16, 3, 1, 1, 8},
                                         {5, 7, 5, 1, 2, 11}}) {
      CAPTURE(g.cin); CAPTURE(g.k); CAPTURE(g.stride);
      Rng rng(6);
      QConv2d layer(nn::Conv2dOptions{g.cin, g.cout, g.k, g.k, g.stride, g.pad, 1, true}, Precision{1, 1, sc},
                    QuantOptions{}, rng);
      Tensor x = random_tensor(Shape{2, g.cin, g.hw, g.hw}, 29, -1.5f, 1.5f);
      for (int64_t i = 0; i < x.numel(); i += 7) x[i] = (i % 2) ? 0.0f : -0.0f;
      const Tensor with_graph = layer(Var(x, true)).value();  // bnn_sign, then the kernels
      NoGradGuard ng;
      const Tensor inference = layer(Var(x)).value();
      REQUIRE(layer.last_backend().has_value());
      CHECK(*layer.last_backend() == IntBackend::bgemm);
      CHECK(inference.to_vector() == with_graph.to_vector());
    }
}
