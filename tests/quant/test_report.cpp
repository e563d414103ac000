// precision_report: per-layer precision, packed sizes and MACs of a quantized zoo model.
#include <doctest/doctest.h>

#include "quant/cost.h"
#include "quant/factory.h"
#include "quant/report.h"

using namespace lowbit;
using namespace lowbit::quant;

TEST_CASE("precision report: LeNet-5 with W1 hidden layers and fp32 first/last") {
  nn::ModelOptions mo;
  auto model = make_quantized_model("lenet5", mo, PrecisionConfig::uniform(Scheme::dorefa, 1, 2, EdgePolicy::fp32));
  const PrecisionReport r = precision_report(*model, Shape{1, 28, 28});
  REQUIRE(r.layers.size() >= 4);
  CHECK(r.layers.front().precision.is_fp32());
  CHECK(r.layers.back().precision.is_fp32());
  const ModelCost cost = model_cost(*model, Shape{1, 28, 28});
  REQUIRE(cost.layers.size() == r.layers.size());
  int64_t w = 0, bits = 0, macs = 0;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    CHECK(l.packed_bytes == cost.layers[i].bytes());
    CHECK(l.macs > 0);
    w += l.weights;
    bits += l.weights * deployed_weight_bits(l.precision);
    macs += l.macs;
    if (!l.precision.is_fp32()) {
      CHECK(l.precision == Precision{1, 2, Scheme::dorefa});
      CHECK(cost.layers[i].weight_dtype == "b1");
    } else {
      CHECK(cost.layers[i].weight_bytes == 4 * l.weights);
    }
  }
  CHECK(r.total_weights == w);
  CHECK(r.total_macs == macs);
  CHECK(r.compression_rate() == doctest::Approx(32.0 * double(w) / double(bits)));
  CHECK(r.compression_rate() > 1.0);
  CHECK(r.table().find("dorefa W1A2") != std::string::npos);
}
