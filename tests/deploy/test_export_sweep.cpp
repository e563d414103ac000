// Every zoo model at every family of precision the QAT layers support either exports to an .lbm that the runtime
// runs with the reference interpreter's logits bit for bit, or is refused with lowbit::Error naming the layer
// ("<layer>: <reason>"). Models are calibrated on one training-mode batch with random BatchNorm statistics
// (deploy_fixtures.h); two probe images each.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "engine/error.h"
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

struct Outcome {
  int exported = 0, refused = 0;
  std::vector<std::string> refusals;
};

void export_or_refuse(const std::string& model, const PrecisionConfig& cfg, uint64_t seed, Outcome& o) {
  CAPTURE(model);
  CAPTURE(cfg.to_json().dump());
  test::Prepared p = test::prepare_model(model, cfg, seed);
  std::vector<uint8_t> bytes;
  DeployGraph g;
  try {
    g = lower_model(*p.model, model, p.options);
    bytes = write_lbm(g, {}, {});
  } catch (const Error& e) {
    // A refusal names the layer: "<module path>: <reason>".
    const std::string what = e.what();
    CHECK_MESSAGE(std::regex_search(what, std::regex("^[A-Za-z0-9_.+]+: [a-zA-Z]")), what);
    ++o.refused;
    o.refusals.push_back(model + " " + cfg.to_json().dump() + ": " + what);
    return;
  }
  ++o.exported;
  const int images = 2;
  const Tensor x = test::probe_images(images, p.options, seed + 1);
  test::RuntimeModel m(bytes, images);
  const std::vector<float> rt = m.run(x.data(), images);
  const int64_t per = x.numel() / images;
  for (int i = 0; i < images; ++i) {
    const std::vector<float> want = reference_run(g, x.data() + i * per);
    REQUIRE(rt.size() == want.size() * images);
    CHECK(std::memcmp(want.data(), rt.data() + i * want.size(), want.size() * sizeof(float)) == 0);
  }
}

std::vector<PrecisionConfig> precisions() {
  std::vector<PrecisionConfig> v;
  for (EdgePolicy e : {EdgePolicy::fp32, EdgePolicy::int8, EdgePolicy::q}) {
    v.push_back(PrecisionConfig::uniform(Scheme::bnn, 1, 1, e));
    v.push_back(PrecisionConfig::uniform(Scheme::xnor, 1, 1, e));
    v.push_back(PrecisionConfig::uniform(Scheme::twn, 2, 2, e));
    v.push_back(PrecisionConfig::uniform(Scheme::dorefa, 1, 2, e));
    v.push_back(PrecisionConfig::uniform(Scheme::dorefa, 3, 4, e));
    v.push_back(PrecisionConfig::uniform(Scheme::lsq, 2, 2, e));
    if (e != EdgePolicy::int8) v.push_back(PrecisionConfig::uniform(Scheme::pact, 4, 8, e));  // PACT has no A32 layer
  }
  v.push_back(PrecisionConfig::uniform(Scheme::fp32, 32, 32, EdgePolicy::fp32));
  return v;
}

}  // namespace

TEST_CASE("export sweep: every zoo model at every precision family exports or is refused naming the layer") {
  // Every precision family on the small models; the larger ones (the same layer kinds, more of them) at a binary
  // and a multi-bit precision. ResNet-20/32/56 are ResNet-8 with more blocks. AlexNet, VGG-11 and MobileNet-v1
  // (depthwise: grouped convolutions) take a minute on 2 cores: only with LOWBIT_EXPORT_SWEEP=full
  // (scripts/test_deploy_parity.sh sets it), to keep ctest fast.
  Outcome o;
  uint64_t seed = 100;
  for (const char* model : {"lenet5", "resnet8"})
    for (const PrecisionConfig& cfg : precisions()) export_or_refuse(model, cfg, ++seed, o);
  const char* full = std::getenv("LOWBIT_EXPORT_SWEEP");
  std::vector<std::string> larger = {"vgg_small"};
  if (full && std::string(full) == "full") larger.insert(larger.end(), {"alexnet", "vgg11", "mobilenet_v1"});
  else MESSAGE("alexnet, vgg11, mobilenet_v1: only with LOWBIT_EXPORT_SWEEP=full");
  for (const std::string& model : larger) {
    export_or_refuse(model, PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::int8), ++seed, o);
    export_or_refuse(model, PrecisionConfig::uniform(Scheme::dorefa, 3, 4, EdgePolicy::q), ++seed, o);
  }
  for (const std::string& r : o.refusals) MESSAGE("refused: ", r);
  MESSAGE(o.exported, " exported, ", o.refused, " refused");
  CHECK(o.exported > 0);
}
