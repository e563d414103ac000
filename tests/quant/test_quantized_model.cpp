// Typed quantization specs: defaults changed on top of a config file, the record a built model gets (resolved
// per layer, never a sentinel) and the model rebuilt from it; an init model loads non-strictly.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/error.h"
#include "nn/archive.h"
#include "quant/quantized_model.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

TEST_CASE("quant spec: scheme/bits/first-last on top of the defaults or a config file, errors") {
  DefaultsChange ch;
  ch.scheme = Scheme::lsq;
  ch.wbits = 3;
  ch.abits = 3;
  ch.first_last = EdgePolicy::int8;
  const PrecisionConfig c = apply_defaults(PrecisionConfig{}, ch, "test");
  CHECK(c.defaults == Precision{3, 3, Scheme::lsq});
  CHECK(c.first_last == EdgePolicy::int8);
  DefaultsChange only_scheme;
  only_scheme.scheme = Scheme::xnor;
  CHECK(apply_defaults(PrecisionConfig{}, only_scheme, "test").defaults == default_precision(Scheme::xnor));
  DefaultsChange bad;
  bad.scheme = Scheme::xnor;
  bad.wbits = 2;
  CHECK_THROWS_WITH_AS(apply_defaults(PrecisionConfig{}, bad, "the flags"), doctest::Contains("the flags"), Error);
  CHECK_THROWS_AS(parse_qat_path("gpu"), Error);

  const std::string cfg = std::string(LOWBIT_BINARY_DIR) + "/test_cli_prec.json";
  {
    std::ofstream o(cfg);
    o << R"({"scheme":"dorefa","wbits":2,"abits":4,"layers":[{"match":"layer1.*","wbits":1}]})";
  }
  DefaultsChange abits;
  abits.abits = 2;
  const PrecisionConfig cc = apply_defaults(PrecisionConfig::from_file(cfg), abits, "test");
  CHECK(cc.defaults == Precision{2, 2, Scheme::dorefa});
  CHECK(cc.resolve("layer1.0.conv1", false, false) == Precision{1, 2, Scheme::dorefa});
  std::remove(cfg.c_str());
  // The JSON form round-trips exactly, every default written out.
  const PrecisionConfig back = PrecisionConfig::from_json(cc.to_json(), "round trip");
  CHECK(back == cc);
  CHECK(back.to_json().dump() == cc.to_json().dump());
  CHECK(cc.to_json().at("wbits") == 2);
  CHECK(cc.to_json().at("options").at("dorefa_grad_bits") == 32);
}

TEST_CASE("quant spec: the init model's fp32 weights load into the quantized model") {
  nn::ModelOptions mo;
  mo.seed = 3;
  auto fp = nn::make_model("lenet5", mo);
  const std::string path = std::string(LOWBIT_BINARY_DIR) + "/test_cli_init.lbck";
  nn::save_module(path, *fp);
  QuantSpec spec;
  DefaultsChange pact;
  pact.scheme = Scheme::pact;
  spec.precision = apply_defaults(PrecisionConfig{}, pact, "test");
  mo.seed = 99;  // different init: the loaded weights must win
  auto q = build_run_model("lenet5", mo, spec, path, "").model;
  CHECK(!quantized_layers(*q).empty());
  const auto a = fp->named_parameters();
  int matched = 0;
  for (const auto& [n, v] : q->named_parameters())
    for (const auto& [m, u] : a)
      if (n == m) {
        CHECK(v.value().to_vector() == u.value().to_vector());
        ++matched;
      }
  CHECK(matched == static_cast<int>(a.size()));
  std::remove(path.c_str());
}

TEST_CASE("quant record: every weight layer at its resolved precision, and the model rebuilds from it") {
  nn::ModelOptions mo;
  QuantSpec spec;
  spec.precision = PrecisionConfig::uniform(Scheme::dorefa, 1, 1, EdgePolicy::q);
  const BuiltModel b = build_model("lenet5", mo, spec);
  const nlohmann::json& r = b.record;
  REQUIRE(r.contains("layers"));
  REQUIRE(r["layers"].size() == 5);  // conv1, conv2, fc1, fc2, fc3
  CHECK(r["layers"][0]["name"] == "conv1");
  CHECK(r["layers"][0]["abits"] == 8);  // policy q: the image input stays 8-bit
  CHECK(r["layers"][0]["image_input"] == true);
  CHECK(r["layers"][4]["wbits"] == 1);
  CHECK(b.options.activation == nn::Activation::clip01);
  CHECK(spec_from_record(r, "test") == spec);

  // The record, not today's resolution, decides: a layer recorded at other bits is built at those bits.
  nlohmann::json edited = r;
  edited["layers"][1]["wbits"] = 4;
  const BuiltModel e = build_model_from_record("lenet5", b.options, edited, "edited");
  CHECK(e.layers[1].second == Precision{4, 1, Scheme::dorefa});
  CHECK(e.layers[2].second == Precision{1, 1, Scheme::dorefa});
  nlohmann::json missing = r;
  missing["layers"].erase(2);
  CHECK_THROWS_WITH_AS(build_model_from_record("lenet5", b.options, missing, "file.lbar"),
                       doctest::Contains("no precision for weight layer \"fc1\""), Error);
  nlohmann::json bad_bits = r;
  bad_bits["layers"][3]["wbits"] = 9;
  CHECK_THROWS_WITH_AS(build_model_from_record("lenet5", b.options, bad_bits, "file.lbar"),
                       doctest::Contains("fc2"), Error);
}
