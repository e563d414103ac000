// Full-test-split parity of trained models (run by scripts/test_deploy_parity.sh, which trains them): for every
// checkpoint named in $LOWBIT_DEPLOY_CHECKPOINTS (comma-separated model.lbar paths) and every image of its data
// set's test split (from $LOWBIT_DATA), the exported op list's logits (reference interpreter) against the
// training graph's eval-mode logits: argmax identical on 100 %, values within 1e-5 relative to the image's
// largest logit; and the same op list written as an .lbm and run by the runtime (its C API, batches of 250, the
// images normalised by lowbit_normalize_u8 from the pixels, as an embedding program does): the same argmax and
// tolerance against the training graph, and bit-identical to the reference interpreter. $LOWBIT_DEPLOY_IMAGES
// limits the images (the first N). Without the checkpoint variable the test case only says so (ctest stays fast
// and needs no data).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

#include "engine/threading.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "quant/export/lower.h"
#include "quant/export/reference_run.h"
#include "quant/export/write_lbm.h"
#include "quant/quantized_model.h"
#include "runtime_logits.h"

using namespace lowbit;

namespace {
Tensor normalised_batch(const nn::ImageDataset& d, int64_t b0, int64_t n, const nn::DatasetInfo& info) {
  const int64_t per = int64_t(d.c) * d.h * d.w;
  Tensor x = Tensor::empty(Shape{n, d.c, d.h, d.w});
  // The training loader's arithmetic (nn/data/loader.cpp): p·(1/(255·std[c])) + (−mean[c]/std[c]).
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < per; ++j) {
      const int c = static_cast<int>(j / (int64_t(d.h) * d.w));
      const float scale = 1.0f / (255.0f * info.std[c]), shift = -info.mean[c] / info.std[c];
      x[i * per + j] = static_cast<float>(d.pixels[(b0 + i) * per + j]) * scale + shift;
    }
  return x;
}
}  // namespace

TEST_CASE("export parity on trained checkpoints over the whole test split") {
  const char* list = std::getenv("LOWBIT_DEPLOY_CHECKPOINTS");
  if (!list || !*list) {
    MESSAGE("LOWBIT_DEPLOY_CHECKPOINTS not set: no trained checkpoints to check");
    return;
  }
  std::stringstream ss(list);
  std::string path;
  while (std::getline(ss, path, ',')) {
    CAPTURE(path);
    const nn::LoadedModel lm = nn::load_trained_model(path, "", quant::build_model_from_meta);
    const std::string dataset = lm.meta.at("config").at("dataset").get<std::string>();
    const nn::DatasetInfo& info = nn::dataset_info(dataset);
    const nn::ImageDataset test = nn::load_dataset(dataset, "test", nn::default_data_dir());
    const quant::deploy::DeployGraph g = quant::deploy::lower_model(*lm.model, lm.model_name, lm.model_options);
    const int64_t per = int64_t(test.c) * test.h * test.w, B = 250;
    const char* lim = std::getenv("LOWBIT_DEPLOY_IMAGES");
    const int64_t total = lim && *lim ? std::min<int64_t>(test.n, std::atoll(lim)) : test.n;
    test::RuntimeModel rt(quant::deploy::write_lbm(g, info.mean, info.std), static_cast<uint32_t>(B));
    int64_t bad_argmax = 0, n = 0, exact = 0, rt_bad_argmax = 0, rt_differs = 0;
    double worst = 0.0, rt_worst = 0.0;
    for (int64_t b0 = 0; b0 < total; b0 += B) {
      const int64_t nb = std::min(B, total - b0);
      const Tensor x = normalised_batch(test, b0, nb, info);
      Tensor want;
      {
        NoGradGuard ng;
        want = (*lm.model)(Var(x)).value();
      }
      const int64_t C = want.dim(1);
      std::vector<std::vector<float>> got(static_cast<size_t>(nb));
      for_each_thread_range(nb, 2, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) got[i] = quant::deploy::reference_run(g, x.data() + i * per);
      });
      // The runtime normalises the pixels itself (the arithmetic of the training loader).
      std::vector<float> xr(static_cast<size_t>(nb * per));
      REQUIRE(lowbit_normalize_u8(&rt.model(), test.pixels.data() + b0 * per, static_cast<size_t>(nb), xr.data()) == LOWBIT_OK);
      CHECK(std::memcmp(xr.data(), x.data(), xr.size() * sizeof(float)) == 0);
      const std::vector<float> rlog = rt.run(xr.data(), static_cast<int32_t>(nb));
      for (int64_t i = 0; i < nb; ++i, ++n) {
        const float* w = want.data() + i * C;
        const float* rl = rlog.data() + i * C;
        rt_differs += std::memcmp(rl, got[i].data(), sizeof(float) * C) != 0;
        rt_bad_argmax += std::max_element(rl, rl + C) - rl != std::max_element(w, w + C) - w;
        float mx = 0.0f;
        double d = 0.0;
        for (int64_t c = 0; c < C; ++c) mx = std::max(mx, std::fabs(w[c]));
        for (int64_t c = 0; c < C; ++c) d = std::max(d, std::fabs(double(got[i][c]) - w[c]) / std::max(1.0f, mx));
        for (int64_t c = 0; c < C; ++c) rt_worst = std::max(rt_worst, std::fabs(double(rl[c]) - w[c]) / std::max(1.0f, mx));
        worst = std::max(worst, d);
        exact += d == 0.0;
        bad_argmax += std::max_element(got[i].begin(), got[i].end()) - got[i].begin() != std::max_element(w, w + C) - w;
      }
    }
    MESSAGE(path, ": ", n, " images, argmax differs on ", bad_argmax, ", logits bit-identical on ", exact,
            ", worst relative difference ", worst);
    MESSAGE(path, ": runtime (.lbm, ", rt.model().blob_len, " bytes): argmax differs on ", rt_bad_argmax,
            ", logits differ from the reference interpreter's on ", rt_differs, ", worst relative difference ", rt_worst);
    CHECK(bad_argmax == 0);
    CHECK(worst <= 1e-5);
    CHECK(rt_bad_argmax == 0);
    CHECK(rt_worst <= 1e-5);
    CHECK(rt_differs == 0);
  }
}
