// quant/cost.h checked by hand on LeNet-5 (28x28x1 input). The model, from `lowbit info lenet5`:
//   conv1  6x1x5x5   = 150 weights, O=6,   K=25,  no bias, then bn1 act1 pool1          MACs 117,600
//   conv2  16x6x5x5  = 2,400,      O=16,  K=150, no bias, then bn2 act2 pool2 flatten  MACs 240,000
//   fc1    120x400   = 48,000,     O=120, K=400, no bias, then bn3 act3                MACs  48,000
//   fc2    84x120    = 10,080,     O=84,  K=120, no bias, then bn4 act4                MACs  10,080
//   fc3    10x84     = 840,        O=10,  K=84,  bias, last                            MACs     840
// Every figure below is computed by hand from the rules in quant/cost.h's header comment.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "quant/cost.h"
#include "quant/factory.h"
#include "quant/report.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {
ModelCost lenet_cost(const PrecisionConfig& cfg) {
  nn::ModelOptions mo;
  auto model = make_quantized_model("lenet5", mo, cfg);
  return model_cost(*model, Shape{1, 28, 28});
}
void check_layer(const LayerCost& l, const char* name, const char* dtype, int64_t wb, int64_t sb, int64_t tb,
                 double bitops) {
  INFO(name);
  CHECK(l.geometry.name == name);
  CHECK(l.weight_dtype == dtype);
  CHECK(l.weight_bytes == wb);
  CHECK(l.scale_bytes == sb);
  CHECK(l.threshold_bytes == tb);
  CHECK(l.bitops == doctest::Approx(bitops));
}
}  // namespace

TEST_CASE("cost: LeNet-5 geometry") {
  nn::ModelOptions mo;
  auto model = make_quantized_model("lenet5", mo, PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::q));
  const auto g = layer_geometry(*model, Shape{1, 28, 28});
  REQUIRE(g.size() == 5);
  CHECK(g[0].rows == 6);
  CHECK(g[0].row_len() == 25);
  CHECK(g[1].row_len() == 150);
  CHECK(g[2].row_len() == 400);
  CHECK(g[4].has_bias);
  CHECK_FALSE(g[3].has_bias);
  for (int l = 0; l < 4; ++l) CHECK((g[l].followed_by_bn && g[l].plain_path));
  CHECK_FALSE(g[4].followed_by_bn);
  CHECK_FALSE(g[4].plain_path);
  CHECK(g[0].macs == 117600);
  CHECK(g[1].macs == 240000);
}

TEST_CASE("cost: LeNet-5 DoReFa W2A2, first and last quantized") {
  const ModelCost c = lenet_cost(PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::q));
  REQUIRE(c.layers.size() == 5);
  // conv1 W2A8img: i2 6·ceil(25/4)=42 B; scales: weight 1 + image scale/zero point 2 + bn1 folded 2·6 = 15 → 60 B;
  //   the next layer reads 2-bit codes, not signs: no thresholds. BitOPs 117,600·2·8.
  check_layer(c.layers[0], "conv1", "i2", 42, 60, 0, 117600.0 * 2 * 8);
  // conv2: 16·ceil(150/4)=608 B; scales 1 + 1 + 32 = 34 → 136 B. BitOPs 240,000·4.
  check_layer(c.layers[1], "conv2", "i2", 608, 136, 0, 960000.0);
  // fc1: 120·100 = 12,000 B; scales 1 + 1 + 240 → 968 B.
  check_layer(c.layers[2], "fc1", "i2", 12000, 968, 0, 192000.0);
  // fc2: 84·30 = 2,520 B; scales 1 + 1 + 168 → 680 B.
  check_layer(c.layers[3], "fc2", "i2", 2520, 680, 0, 40320.0);
  // fc3: 10·21 = 210 B; scales 1 + 1 + bias 10 → 48 B.
  check_layer(c.layers[4], "fc3", "i2", 210, 48, 0, 3360.0);
  CHECK(c.weight_bytes == 15380);
  CHECK(c.scale_bytes == 1892);
  CHECK(c.threshold_bytes == 0);
  CHECK(c.model_bytes() == 17272);
  CHECK(c.weights == 61470);
  CHECK(c.avg_wbits() == doctest::Approx(2.0));
  CHECK(c.bitops == doctest::Approx(3077280.0));
  const nlohmann::json m = c.metrics();
  CHECK(m["size_bytes"] == 17272);
  CHECK(m["bitops"].get<double>() == doctest::Approx(3077280.0));
  CHECK(c.layer_bits().size() == 5);
}

TEST_CASE("cost: LeNet-5 BNN W1A1, first and last quantized: thresholds") {
  const ModelCost c = lenet_cost(PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::q));
  REQUIRE(c.layers.size() == 5);
  // conv1 W1A8img: b1 8·6·ceil(25/64) = 48 B; scales 1 + 2 = 3 → 12 B; conv2 reads signs through bn1/act1/pool1:
  //   6 thresholds → 24 B. BitOPs 117,600·1·8.
  check_layer(c.layers[0], "conv1", "b1", 48, 12, 24, 940800.0);
  // conv2: 8·16·ceil(150/64)=8·16·3 = 384 B; scales 2 → 8 B; 16 thresholds → 64 B.
  check_layer(c.layers[1], "conv2", "b1", 384, 8, 64, 240000.0);
  // fc1: 8·120·7 = 6,720 B; 8 B; 480 B.
  check_layer(c.layers[2], "fc1", "b1", 6720, 8, 480, 48000.0);
  // fc2: 8·84·2 = 1,344 B; 8 B; 336 B.
  check_layer(c.layers[3], "fc2", "b1", 1344, 8, 336, 10080.0);
  // fc3: 8·10·2 = 160 B; scales 1 + 1 + bias 10 → 48 B; last layer: no thresholds.
  check_layer(c.layers[4], "fc3", "b1", 160, 48, 0, 840.0);
  CHECK(c.weight_bytes == 8656);
  CHECK(c.scale_bytes == 84);
  CHECK(c.threshold_bytes == 904);
  CHECK(c.model_bytes() == 9644);
  CHECK(c.avg_wbits() == doctest::Approx(1.0));
  CHECK(c.bitops == doctest::Approx(1239720.0));
}

TEST_CASE("cost: LeNet-5 DoReFa W1A2 with fp32 first and last") {
  const ModelCost c = lenet_cost(PrecisionConfig::uniform(Scheme::dorefa, 1, 2, EdgePolicy::fp32));
  // conv1 fp32: 4·150 = 600 B; bn1 folds into the weights + 6 biases → 24 B; BitOPs 117,600·32·32.
  check_layer(c.layers[0], "conv1", "f32", 600, 24, 0, 120422400.0);
  check_layer(c.layers[1], "conv2", "b1", 384, 136, 0, 480000.0);
  check_layer(c.layers[2], "fc1", "b1", 6720, 968, 0, 96000.0);
  check_layer(c.layers[3], "fc2", "b1", 1344, 680, 0, 20160.0);
  // fc3 fp32: 4·840 = 3,360 B; bias 10 → 40 B; 840·1024.
  check_layer(c.layers[4], "fc3", "f32", 3360, 40, 0, 860160.0);
  // (150·32 + 2,400 + 48,000 + 10,080 + 840·32) / 61,470 = 92,160 / 61,470
  CHECK(c.avg_wbits() == doctest::Approx(92160.0 / 61470.0));
  CHECK(c.bitops == doctest::Approx(121878720.0));
  CHECK(c.model_bytes() == 600 + 24 + 384 + 136 + 6720 + 968 + 1344 + 680 + 3360 + 40);
}

TEST_CASE("cost: LeNet-5 mixed: 8-bit in i8, ternary in t2, 3-bit in i4") {
  const PrecisionConfig cfg = PrecisionConfig::from_json_text(
      R"({"scheme": "dorefa", "wbits": 4, "abits": 4, "first_last": "q",
          "layers": [{"match": "conv2", "wbits": 8},
                     {"match": "fc1", "scheme": "twn", "wbits": 2, "abits": 4},
                     {"match": "fc2", "wbits": 3}]})",
      "test");
  const ModelCost c = lenet_cost(cfg);
  // conv1 W4A8img: i4 6·13 = 78 B; scales 15 → 60 B; 117,600·4·8.
  check_layer(c.layers[0], "conv1", "i4", 78, 60, 0, 3763200.0);
  // conv2 W8A4: i8 16·150 = 2,400 B; 136 B; 240,000·8·4.
  check_layer(c.layers[1], "conv2", "i8", 2400, 136, 0, 7680000.0);
  // fc1 ternary: t2 16·120·ceil(400/64)=16·120·7 = 13,440 B; 968 B; 48,000·2·4.
  check_layer(c.layers[2], "fc1", "t2", 13440, 968, 0, 384000.0);
  // fc2 W3A4: i4 84·60 = 5,040 B; 680 B; 10,080·3·4.
  check_layer(c.layers[3], "fc2", "i4", 5040, 680, 0, 120960.0);
  // fc3 W4A4: i4 10·42 = 420 B; 48 B; 840·16.
  check_layer(c.layers[4], "fc3", "i4", 420, 48, 0, 13440.0);
  CHECK(c.weight_bytes == 21378);
  CHECK(c.model_bytes() == 21378 + 1892);
  // (150·4 + 2,400·8 + 48,000·2 + 10,080·3 + 840·4) / 61,470 = 149,400 / 61,470
  CHECK(c.avg_wbits() == doctest::Approx(149400.0 / 61470.0));
  CHECK(c.bitops == doctest::Approx(11961600.0));
}

TEST_CASE("cost: a candidate priced without a model equals the built model") {
  nn::ModelOptions mo;
  auto model = make_quantized_model("lenet5", mo, PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::q));
  const auto g = layer_geometry(*model, Shape{1, 28, 28});
  std::vector<Precision> p = layer_precisions(*model, g);
  p[2].wbits = 4;
  const ModelCost c = model_cost(g, p);
  CHECK(c.layers[2].weight_bytes == 120 * 200);
  CHECK_THROWS_WITH_AS(model_cost(g, std::vector<Precision>(3)), "cost accounting: 5 layers but 3 precisions",
                       Error);
  Precision bad{9, 2, Scheme::dorefa};
  CHECK_THROWS_AS(packed_weight_bytes(bad, 2, 2), Error);
}

TEST_CASE("cost: precision_report's packed sizes are the cost's") {
  nn::ModelOptions mo;
  auto model = make_quantized_model("lenet5", mo, PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::q));
  const PrecisionReport r = precision_report(*model, Shape{1, 28, 28});
  const ModelCost c = model_cost(*model, Shape{1, 28, 28});
  REQUIRE(r.layers.size() == c.layers.size());
  for (size_t i = 0; i < r.layers.size(); ++i) CHECK(r.layers[i].packed_bytes == c.layers[i].bytes());
  CHECK(r.packed_weight_bytes == c.model_bytes());
}
