// A small seeded QAT run: LeNet-5 with DoReFa W2A2 (first/last fp32) and with BNN (first/last q), a few SGD
// steps on a fixed synthetic batch, through the kernel path. The loss must fall, and the final loss must equal
// the stored golden value (same seed, one thread: the integer kernels are exact and the fp32 GEMM is
// deterministic for a fixed thread count; tolerance 1e-4 relative covers compiler/ISA differences in the
// fp32 parts).
//
// Regenerating the golden values (after an intended change to a quantizer, a layer or the engine):
//   LOWBIT_PRINT_GOLDEN=1 build-<you>/tests/test_quant -tc="qat golden*"
// prints the new per-step losses; paste the last one into kGolden below and say why in the commit.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/rng.h"
#include "engine/threading.h"
#include "quant/factory.h"
#include "quant/training.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {

// 32 noise images; the label is the brightest quadrant (4 classes), so the task is learnable in a few steps.
void synthetic_batch(Tensor& x, std::vector<int32_t>& labels) {
  const int64_t N = 32;
  x = Tensor(Shape{N, 1, 28, 28});
  labels.assign(N, 0);
  Rng rng(2024);
  for (int64_t n = 0; n < N; ++n) {
    const int bright = static_cast<int>(rng.below(4));
    labels[n] = bright;
    for (int h = 0; h < 28; ++h)
      for (int w = 0; w < 28; ++w) {
        const int q = (h >= 14 ? 2 : 0) + (w >= 14 ? 1 : 0);
        x[((n * 28) + h) * 28 + w] = rng.uniform(-1.0f, 1.0f) + (q == bright ? 0.8f : 0.0f);
      }
  }
}

std::vector<float> train_losses(const PrecisionConfig& cfg, int steps) {
  nn::ModelOptions mo;
  mo.seed = 7;
  auto model = make_quantized_model("lenet5", mo, cfg);
  Sgd opt(model->parameters(), SgdOptions{0.05f, 0.9f});
  Tensor x;
  std::vector<int32_t> y;
  synthetic_batch(x, y);
  std::vector<float> losses;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Var loss = cross_entropy((*model)(Var(x)), y);
    const Var reg = regularization_loss(*model);
    if (reg.defined()) loss = add(loss, reg);
    losses.push_back(loss.value().item());
    loss.backward();
    opt.step();
    after_optimizer_step(*model);
  }
  return losses;
}

void check_golden(const std::string& what, const std::vector<float>& losses, float golden) {
  if (std::getenv("LOWBIT_PRINT_GOLDEN")) {
    std::string s;
    for (float l : losses) s += std::to_string(l) + " ";
    MESSAGE(what << " losses: " << s);
  }
  INFO(what);
  CHECK(losses.back() < losses.front());
  CHECK(losses.back() == doctest::Approx(golden).epsilon(1e-4));
}

struct OneThread {
  int prev = num_threads();
  OneThread() { set_num_threads(1); }
  ~OneThread() { set_num_threads(prev); }
};

}  // namespace

TEST_CASE("qat golden: lenet5 dorefa W2A2, 8 steps") {
  OneThread one;
  const float kGolden = 0.216087f;
  check_golden("dorefa W2A2", train_losses(PrecisionConfig::uniform(Scheme::dorefa, 2, 2, EdgePolicy::fp32), 8), kGolden);
}

TEST_CASE("qat golden: lenet5 bnn W1A1 (first/last quantized), 8 steps") {
  OneThread one;
  const float kGolden = 1.037922f;  // conv1 reads the image as 8-bit codes since policy q keeps it 8-bit
  check_golden("bnn W1A1", train_losses(PrecisionConfig::uniform(Scheme::bnn, 1, 1, EdgePolicy::q), 8), kGolden);
}
