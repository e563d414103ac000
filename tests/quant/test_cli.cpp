// The QAT command-line options: flags and config file combine; --init loads an fp32 model non-strictly.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "engine/error.h"
#include "nn/archive.h"
#include "quant/cli.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

TEST_CASE("quant flags: scheme/bits/first-last, config file, errors") {
  QuantFlags f;
  f.scheme = "lsq";
  f.wbits = 3;
  f.abits = 3;
  f.first_last = "8";
  const PrecisionConfig c = precision_from_flags(f);
  CHECK(c.defaults == Precision{3, 3, Scheme::lsq});
  CHECK(c.first_last == EdgePolicy::int8);
  CHECK(!QuantFlags{}.active());
  QuantFlags bad;
  bad.scheme = "xnor";
  bad.wbits = 2;
  CHECK_THROWS_AS(precision_from_flags(bad), Error);
  QuantFlags path;
  path.path = "gpu";
  CHECK_THROWS_AS(parse_qat_path(path.path), Error);

  const std::string cfg = std::string(LOWBIT_BINARY_DIR) + "/test_cli_prec.json";
  {
    std::ofstream o(cfg);
    o << R"({"scheme":"dorefa","wbits":2,"abits":4,"layers":[{"match":"layer1.*","wbits":1}]})";
  }
  QuantFlags fc;
  fc.config_file = cfg;
  fc.abits = 2;
  const PrecisionConfig cc = precision_from_flags(fc);
  CHECK(cc.defaults == Precision{2, 2, Scheme::dorefa});
  CHECK(cc.resolve("layer1.0.conv1", false, false) == Precision{1, 2, Scheme::dorefa});
  std::remove(cfg.c_str());
}

TEST_CASE("quant flags: --init loads fp32 weights into the quantized model") {
  nn::ModelOptions mo;
  mo.seed = 3;
  auto fp = nn::make_model("lenet5", mo);
  const std::string path = std::string(LOWBIT_BINARY_DIR) + "/test_cli_init.lbck";
  nn::save_module(path, *fp);
  QuantFlags f;
  f.scheme = "pact";
  f.init = path;
  mo.seed = 99;  // different init: the loaded weights must win
  auto q = build_quantized_model("lenet5", mo, f);
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
