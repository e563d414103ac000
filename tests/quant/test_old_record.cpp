// A model file written before files recorded resolved precision (tests/fixtures/README.md says how it was
// made): its "quant" record holds the flags as given, wbits/abits −1 for "the scheme's default". It must still
// load, with the precision the writing code resolved (DoReFa W1A2, first/last fp32, clip(0, 1) activations):
// the rebuilt layers say so, the logits are bit-identical to that model built explicitly, and (when the data is
// set up) the test accuracy is the one the writing binary printed.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "engine/error.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "quant/factory.h"
#include "quant/quantized_model.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {
const std::string kFixture = std::string(LOWBIT_SOURCE_DIR) + "/tests/fixtures/lenet5_dorefa_old_record.lbar";
}

TEST_CASE("old record: a model file from before the resolved record loads at the precision it was trained with") {
  const nn::Archive ar = nn::read_archive(kFixture);
  const nlohmann::json& rec = ar.meta.at("extra").at("quant");
  REQUIRE(rec.at("wbits") == -1);  // really the old form
  REQUIRE(rec.at("abits") == -1);

  const nn::LoadedModel lm = nn::load_trained_model(kFixture, "lenet5", build_model_from_meta);
  const auto q = quantized_layers(*lm.model);
  REQUIRE(q.size() == 3);
  for (const auto& [name, layer] : q) {
    CAPTURE(name);
    CHECK(layer->precision() == Precision{1, 2, Scheme::dorefa});
    CHECK(layer->path() == QPath::kernel);
  }
  CHECK(q[0].first == "conv2");
  CHECK(q[2].first == "fc2");
  CHECK(spec_from_record(rec, "fixture").precision == PrecisionConfig::uniform(Scheme::dorefa, 1, 2, EdgePolicy::fp32));

  // The same model built explicitly at the resolution of the writing code, with the file's weights.
  nn::ModelOptions mo = lm.model_options;
  mo.activation = nn::Activation::clip01;
  auto explicit_model = make_quantized_model("lenet5", mo, PrecisionConfig::uniform(Scheme::dorefa, 1, 2),
                                             QuantModelOptions{QPath::kernel, false});
  explicit_model->load_state_dict(ar.tensors, true);
  lm.model->eval();
  explicit_model->eval();
  Tensor x = Tensor::zeros(Shape{4, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
  NoGradGuard no_grad;
  const std::vector<float> a = (*lm.model)(Var(x)).value().to_vector();
  const std::vector<float> b = (*explicit_model)(Var(x)).value().to_vector();
  CHECK(a == b);

  const std::string dir = nn::default_data_dir();
  if (!std::filesystem::exists(std::filesystem::path(dir) / "fashion-mnist")) return;  // no data: logits only
  const nn::DatasetInfo& info = nn::dataset_info("fashion-mnist");
  const nn::EvalResult r = nn::evaluate(*lm.model, nn::load_dataset("fashion-mnist", "test", dir), 256, info.mean, info.std);
  CHECK(r.n == 10000);
  CHECK(r.acc == doctest::Approx(0.8630).epsilon(1e-9));  // what the writing binary printed: 86.30%, loss 0.3853
  CHECK(r.loss == doctest::Approx(0.3853).epsilon(1e-3));
}
