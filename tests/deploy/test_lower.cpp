// The deployable op list against the training graph: a zoo model at a given precision is calibrated on one
// training-mode batch (BatchNorm statistics, LSQ steps, the 8-bit input range), its BatchNorms get random
// statistics and affine parameters (a third of the γ negative, so the sign flip is exercised), and then the
// reference interpreter of the exported op list must give the eval-mode logits of the training graph:
// argmax identical, values within 1e-5 relative to the largest logit of the image. The same op list written as an
// .lbm (write_lbm) and run by the runtime must give the reference interpreter's logits bit for bit (ctest runs
// these cases under every forced ISA).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "engine/rng.h"
#include "nn/layers/batchnorm.h"
#include "quant/export/lower.h"
#include "quant/export/reference_run.h"
#include "quant/export/write_lbm.h"
#include "quant/quantized_model.h"
#include "deploy_fixtures.h"
#include "runtime_logits.h"

using namespace lowbit;
using namespace lowbit::quant;
using namespace lowbit::quant::deploy;

namespace {

void check_parity(const std::string& model, const PrecisionConfig& cfg, int images, uint64_t seed,
                  bool expect_thresholds) {
  CAPTURE(model);
  CAPTURE(cfg.to_json().dump());
  test::Prepared p = test::prepare_model(model, cfg, seed);
  const DeployGraph g = lower_model(*p.model, model, p.options);
  int thresholded = 0;
  for (const Op& op : g.ops) thresholded += op.epilogue == Epilogue::threshold && (op.kind == OpKind::conv || op.kind == OpKind::linear);
  if (expect_thresholds) CHECK(thresholded > 0);
  const Tensor x = test::probe_images(images, p.options, seed + 1);
  const Tensor want = test::eval_logits(*p.model, x);
  const int64_t per = x.numel() / images, C = want.dim(1);
  int64_t bad_argmax = 0, runtime_differs = 0;
  double worst = 0.0;
  test::RuntimeModel m(write_lbm(g, {}, {}), static_cast<uint32_t>(images));
  const std::vector<float> rt = m.run(x.data(), images);
  for (int i = 0; i < images; ++i) {
    const std::vector<float> got = reference_run(g, x.data() + i * per);
    runtime_differs += std::memcmp(got.data(), rt.data() + i * C, sizeof(float) * C) != 0;
    REQUIRE(static_cast<int64_t>(got.size()) == C);
    const float* w = want.data() + i * C;
    float mx = 0.0f;
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, std::fabs(w[c]));
    for (int64_t c = 0; c < C; ++c) worst = std::max(worst, std::fabs(double(got[c]) - w[c]) / std::max(1.0f, mx));
    bad_argmax += std::max_element(got.begin(), got.end()) - got.begin() != std::max_element(w, w + C) - w;
  }
  CHECK(bad_argmax == 0);
  CHECK(worst <= 1e-5);
  CHECK(runtime_differs == 0);
}

}  // namespace

TEST_CASE("runtime parity: LeNet-5 W1A1 (BNN, first/last 8-bit)") {
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::int8), 24, 1, true);
}

TEST_CASE("runtime parity: LeNet-5 ternary weights, 2-bit activations (TWN A2)") {
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::twn, 2, 2, EdgePolicy::int8), 24, 2, true);
}

TEST_CASE("runtime parity: LeNet-5 W2A2 (DoReFa, all layers quantized, 8-bit image input)") {
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::q), 24, 3, true);
}

TEST_CASE("runtime parity: LeNet-5 mixed precision") {
  const PrecisionConfig cfg = PrecisionConfig::from_json_text(
      R"({"scheme":"dorefa","wbits":2,"abits":2,"first_last":"q",
          "layers":[{"match":"conv2","wbits":1,"abits":4},{"match":"fc1","wbits":4,"abits":1},{"match":"fc2","wbits":8,"abits":3}]})",
      "test");
  check_parity("lenet5", cfg, 24, 4, true);
}

TEST_CASE("runtime parity: LeNet-5 under LSQ, PACT, XNOR and fp32") {
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::lsq, 2, 2, EdgePolicy::int8), 12, 5, true);
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::pact, 4, 4, EdgePolicy::fp32), 12, 6, true);
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::xnor, 1, 1, EdgePolicy::fp32), 12, 7, true);
  check_parity("lenet5", PrecisionConfig::uniform(Scheme::fp32, 32, 32, EdgePolicy::fp32), 12, 8, false);
}

TEST_CASE("runtime parity: ResNet-20 W1A1 (BNN, first/last 8-bit), residual stream in fp32") {
  check_parity("resnet20", PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::int8), 3, 9, true);
}

TEST_CASE("runtime parity: ResNet-8 W2A2 and VGG-small W1A2") {
  check_parity("resnet8", PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::q), 3, 10, true);
  check_parity("vgg_small", PrecisionConfig::uniform(Scheme::dorefa, 1, 2, EdgePolicy::fp32), 3, 11, true);
}

TEST_CASE("export refuses what has no deployed form, naming the layer") {
  PrecisionConfig cfg = PrecisionConfig::uniform(Scheme::xnor, 1, 1, EdgePolicy::fp32);
  cfg.options.xnor_scale_activations = true;
  test::Prepared p = test::prepare_model("lenet5", cfg, 12);
  CHECK_THROWS_WITH_AS(lower_model(*p.model, "lenet5", p.options), doctest::Contains("conv2: XNOR-Net's input scaling"),
                       Error);
  // An LSQ layer that never ran forward has no activation step yet.
  const BuiltModel fresh = build_model("lenet5", nn::ModelOptions{},
                                       QuantSpec{PrecisionConfig::uniform(Scheme::lsq, 2, 2, EdgePolicy::fp32), QPath::kernel});
  CHECK_THROWS_WITH_AS(lower_model(*fresh.model, "lenet5", fresh.options), doctest::Contains("conv2: lsq W2A2"), Error);
}
