// Precision config: JSON and flags, resolution order (defaults, first/last policy, globs, exact names),
// validation errors with clear messages, unmatched patterns as error or warning.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "engine/error.h"
#include "quant/precision.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
// A config with the scheme's default bits.
PrecisionConfig defaults_of(Scheme s, EdgePolicy e) {
  const Precision d = default_precision(s);
  return PrecisionConfig::uniform(s, d.wbits, d.abits, e);
}
}  // namespace

TEST_CASE("precision: per-scheme defaults and the first/last policy") {
  PrecisionConfig c = defaults_of(Scheme::dorefa, EdgePolicy::fp32);
  CHECK(c.defaults == Precision{1, 2, Scheme::dorefa});
  CHECK(c.resolve("conv1", true, false).is_fp32());
  CHECK(c.resolve("fc", false, true).is_fp32());
  CHECK(c.resolve("layer1.0.conv1", false, false) == Precision{1, 2, Scheme::dorefa});

  PrecisionConfig q = defaults_of(Scheme::bnn, EdgePolicy::q);
  CHECK(q.resolve("conv1", true, false) == Precision{1, 8, Scheme::bnn, true});  // the image stays 8-bit
  CHECK(q.resolve("fc", false, true) == Precision{1, 1, Scheme::bnn});
  CHECK(q.resolve("conv2", false, false) == Precision{1, 1, Scheme::bnn});
  CHECK(q.resolve("conv1", true, false).str() == "bnn W1A8img");
  // Activations that stay fp32 everywhere (BWN) keep the fp32 input; a first layer that is also last too.
  CHECK(PrecisionConfig::uniform(Scheme::xnor, 1, 32, EdgePolicy::q).resolve("conv1", true, false) == Precision{1, 32, Scheme::xnor});
  CHECK(PrecisionConfig::uniform(Scheme::dorefa, 1, 1, EdgePolicy::q).resolve("fc", true, true) == Precision{1, 8, Scheme::dorefa, true});
  // An override that sets the first layer's abits or scheme replaces the image-input rule; wbits alone keeps it.
  const auto ov = [](const char* body) {
    return PrecisionConfig::from_json_text(std::string(R"({"scheme":"dorefa","wbits":1,"abits":1,"first_last":"q","layers":[)") +
                                               body + "]}",
                                           "t.json")
        .resolve("conv1", true, false);
  };
  CHECK(ov(R"({"match":"conv1","abits":32})") == Precision{1, 32, Scheme::dorefa});
  CHECK(ov(R"({"match":"conv1","abits":4})") == Precision{1, 4, Scheme::dorefa});
  CHECK(ov(R"({"match":"conv1","wbits":2})") == Precision{2, 8, Scheme::dorefa, true});
  CHECK(ov(R"({"match":"conv1","scheme":"fp32"})").is_fp32());
  CHECK_THROWS_AS(validate(Precision{1, 4, Scheme::dorefa, true}, "x"), Error);  // image input is 8-bit
  CHECK_THROWS_AS(validate(Precision{32, 8, Scheme::fp32, true}, "x"), Error);

  PrecisionConfig e = defaults_of(Scheme::xnor, EdgePolicy::int8);
  CHECK(e.resolve("conv1", true, false) == Precision{8, 32, Scheme::dorefa});  // first: fp32 input
  CHECK(e.resolve("fc", false, true) == Precision{8, 8, Scheme::dorefa});
  PrecisionConfig l = PrecisionConfig::uniform(Scheme::lsq, 3, 3, EdgePolicy::int8);
  CHECK(l.resolve("fc", false, true) == Precision{8, 8, Scheme::lsq});
  CHECK(default_precision(Scheme::twn) == Precision{2, 32, Scheme::twn});
}

TEST_CASE("precision: JSON overrides, exact names beat globs, later entries win") {
  const std::string text = R"({
    "scheme": "dorefa", "wbits": 2, "abits": 4, "first_last": "q",
    "layers": [
      {"match": "layer1.*.conv1", "wbits": 1},
      {"match": "layer1.0.conv1", "abits": 2},
      {"match": "layer*", "wbits": 3},
      {"match": "fc", "scheme": "fp32"}
    ],
    "options": {"dorefa_grad_bits": 8, "xnor_scale_activations": true}
  })";
  PrecisionConfig c = PrecisionConfig::from_json_text(text, "cfg.json");
  // globs in order: layer1.*.conv1 -> w1, then layer* -> w3; exact name then sets a2.
  CHECK(c.resolve("layer1.0.conv1", false, false) == Precision{3, 2, Scheme::dorefa});
  CHECK(c.resolve("layer1.1.conv1", false, false) == Precision{3, 4, Scheme::dorefa});
  CHECK(c.resolve("layer2.0.conv2", false, false) == Precision{3, 4, Scheme::dorefa});
  CHECK(c.resolve("conv1", true, false) == Precision{2, 8, Scheme::dorefa, true});  // policy q: 8-bit image
  CHECK(c.resolve("fc", false, true).is_fp32());
  CHECK(c.options.dorefa_grad_bits == 8);
  CHECK(c.options.xnor_scale_activations);

  // Object form of "layers".
  PrecisionConfig o = PrecisionConfig::from_json_text(R"({"scheme":"lsq","wbits":4,"abits":4,
      "layers":{"conv1":{"wbits":8,"abits":8}}})", "o.json");
  // conv1 is kept fp32 by the default first/last policy; an override setting bits quantizes it with the
  // default scheme.
  CHECK(o.resolve("conv1", true, false) == Precision{8, 8, Scheme::lsq});
  CHECK(o.resolve("fc", false, true).is_fp32());
  PrecisionConfig o2 = PrecisionConfig::from_json_text(R"({"scheme":"lsq","wbits":4,"abits":4,"first_last":"q",
      "layers":{"conv1":{"wbits":8,"abits":8}}})", "o.json");
  CHECK(o2.resolve("conv1", true, false) == Precision{8, 8, Scheme::lsq});
}

TEST_CASE("precision: validation errors name the problem") {
  CHECK(contains(error_of([] { parse_scheme("dorefax"); }), "unknown quantization scheme \"dorefax\""));
  CHECK(contains(error_of([] { PrecisionConfig::uniform(Scheme::dorefa, 9, 2, EdgePolicy::fp32); }), "wbits=9"));
  CHECK(contains(error_of([] { PrecisionConfig::uniform(Scheme::bnn, 2, 1, EdgePolicy::fp32); }), "bnn wbits=2"));
  CHECK(contains(error_of([] { PrecisionConfig::uniform(Scheme::lsq, 1, 4, EdgePolicy::fp32); }), "signed codes need 2 bits"));
  CHECK(contains(error_of([] { PrecisionConfig::uniform(Scheme::pact, 4, 32, EdgePolicy::fp32); }), "pact abits=32"));
  CHECK(contains(error_of([] { PrecisionConfig::uniform(Scheme::twn, 3, 32, EdgePolicy::fp32); }), "ternary"));
  CHECK(contains(error_of([] { parse_edge_policy("16"); }), "first/last policy \"16\""));
  CHECK(contains(error_of([] { PrecisionConfig::from_json_text("{\"wbit\": 2}", "a.json"); }),
                 "a.json: unknown key \"wbit\""));
  CHECK(contains(error_of([] { PrecisionConfig::from_json_text("{\"wbits\": 0}", "a.json"); }), "out of range"));
  CHECK(contains(error_of([] { PrecisionConfig::from_json_text("{\"scheme\": \"dorefa\", \"wbits\": ", "b.json"); }),
                 "b.json: invalid JSON"));
  CHECK(contains(error_of([] {
                   PrecisionConfig::from_json_text(R"({"scheme":"dorefa","layers":[{"match":"fc","wbit":3}]})", "c.json");
                 }),
                 "c.json: layers[0]: unknown key \"wbit\""));
  CHECK(contains(error_of([] {
                   PrecisionConfig::from_json_text(R"({"scheme":"dorefa","layers":[{"match":"fc","scheme":"bnn","abits":4}]})",
                                                   "d.json");
                 }),
                 "override \"fc\""));
  CHECK(contains(error_of([] { PrecisionConfig::from_file("/nonexistent/prec.json"); }), "cannot open"));
}

TEST_CASE("precision: an override matching no layer is an error by default, a warning on request") {
  const std::vector<std::string> names = {"conv1", "layer1.0.conv1", "layer1.0.conv2", "fc"};
  PrecisionConfig c = PrecisionConfig::from_json_text(
      R"({"scheme":"dorefa","layers":[{"match":"layer1.*.conv1","wbits":2},{"match":"layer9.*","wbits":2}]})", "e.json");
  CHECK(contains(error_of([&] { c.check_overrides(names); }), "\"layer9.*\" matches no weight layer"));
  c.unmatched_is_error = false;
  const auto warnings = c.check_overrides(names);
  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "layer9.*"));
  PrecisionConfig w = PrecisionConfig::from_json_text(
      R"({"scheme":"dorefa","unmatched":"warn","layers":[{"match":"nothing","wbits":2}]})", "w.json");
  CHECK(w.check_overrides(names).size() == 1);
}

TEST_CASE("precision: from_file reads a JSON file") {
  const std::string path = std::string(LOWBIT_BINARY_DIR) + "/test_precision_cfg.json";
  {
    std::ofstream f(path);
    f << R"({"scheme": "twn", "abits": 8, "first_last": "fp32"})";
  }
  PrecisionConfig c = PrecisionConfig::from_file(path);
  CHECK(c.resolve("layer2.1.conv2", false, false) == Precision{2, 8, Scheme::twn});
  CHECK(c.resolve("layer2.1.conv2", false, false).str() == "twn WtA8");
  std::remove(path.c_str());
}

TEST_CASE("precision: a number out of range or a deeply nested config is one clear error, not a crash") {
  CHECK_THROWS_WITH_AS(PrecisionConfig::from_json_text(R"({"scheme": "dorefa", "wbits": 1e400})", "cfg.json"),
                       doctest::Contains("cfg.json: invalid JSON"), Error);
  std::string deep = R"({"layers":[{"match":"fc","wbits":)";
  deep += std::string(1000000, '[') + std::string(1000000, ']') + "}]}";
  CHECK_THROWS_WITH_AS(PrecisionConfig::from_json_text(deep, "deep.json"),
                       doctest::Contains("deep.json: invalid precision config: nested deeper than 16 levels"), Error);
}

TEST_CASE("precision: a first_last number other than 8 and a PACT option beyond float range are refused") {
  // 4294967304 = 2^32 + 8 used to wrap to 8 through get<int>.
  CHECK_THROWS_WITH_AS(PrecisionConfig::from_json_text(R"({"scheme": "dorefa", "first_last": 4294967304})", "c.json"),
                       doctest::Contains("c.json: first_last must be \"fp32\", 8 or \"q\", got 4294967304"), Error);
  CHECK_THROWS_WITH_AS(PrecisionConfig::from_json_text(R"({"scheme": "dorefa", "first_last": 8.0})", "c.json"),
                       doctest::Contains("first_last must be"), Error);
  CHECK(PrecisionConfig::from_json_text(R"({"scheme": "dorefa", "first_last": 8})", "c.json").first_last ==
        EdgePolicy::int8);
  CHECK_THROWS_WITH_AS(
      PrecisionConfig::from_json_text(R"({"scheme": "pact", "options": {"pact_alpha_init": 1e39}})", "p.json"),
      doctest::Contains("p.json: options.pact_alpha_init must be a positive number that fits a float, got 1e+39"),
      Error);
  CHECK_THROWS_WITH_AS(
      PrecisionConfig::from_json_text(R"({"scheme": "pact", "options": {"pact_alpha_decay": 1e39}})", "p.json"),
      doctest::Contains("pact_alpha_decay must be a number"), Error);
}

TEST_CASE("precision: a bracket set is a glob too (layer[12].0.conv1 matches layer1 and layer2, not layer3)") {
  PrecisionConfig c = PrecisionConfig::from_json_text(
      R"({"scheme": "dorefa", "wbits": 2, "abits": 2, "layers": [{"match": "layer[12].0.conv1", "wbits": 1}]})",
      "set.json");
  CHECK(c.resolve("layer1.0.conv1", false, false) == Precision{1, 2, Scheme::dorefa});
  CHECK(c.resolve("layer2.0.conv1", false, false) == Precision{1, 2, Scheme::dorefa});
  CHECK(c.resolve("layer3.0.conv1", false, false) == Precision{2, 2, Scheme::dorefa});
  CHECK(c.check_overrides({"layer1.0.conv1", "layer3.0.conv1"}).empty());
}
