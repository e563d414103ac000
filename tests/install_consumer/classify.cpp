// Load a model trained by `lowbit train` and classify the first test image of its data set.
#include <cstdio>
#include <exception>
#include <string>

#include <lowbit/engine/var.h>
#include <lowbit/nn/data/registry.h>
#include <lowbit/nn/train/trainer.h>
#include <lowbit/quant/quantized_model.h>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: classify MODEL.lbar DATA_DIR\n"), 2;
  try {
    namespace nn = lowbit::nn;
    const nn::LoadedModel lm = nn::load_trained_model(argv[1], "", lowbit::quant::build_model_from_meta);
    const std::string dataset = lm.meta.at("config").at("dataset");
    const nn::DatasetInfo& info = nn::dataset_info(dataset);
    const nn::ImageDataset test = nn::load_dataset(dataset, "test", argv[2]);
    lowbit::Tensor x({1, test.c, test.h, test.w});  // image 0, normalised as in training
    for (int64_t i = 0; i < test.image_size(); ++i) {
      const int64_t c = i / (test.h * test.w);
      x.data()[i] = (test.image(0)[i] / 255.0f - info.mean[c]) / info.std[c];
    }
    lm.model->eval();
    lowbit::NoGradGuard no_grad;
    const lowbit::Tensor logits = (*lm.model)(lowbit::Var(x)).value();
    int best = 0;
    for (int k = 1; k < info.num_classes; ++k) best = logits.data()[k] > logits.data()[best] ? k : best;
    std::printf("%s: test image 0 of %s is class %d (label %d)\n", lm.model_name.c_str(), dataset.c_str(), best,
                test.labels[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
}
